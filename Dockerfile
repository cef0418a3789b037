# Lookout: the same Trunk + cargo release build as `make release`, in a small runtime image.
#   docker build -t lookout .
#   docker run -p 3000:3000 -v lookout-data:/data lookout        (the demo; no config, no tokens)
# With your config: -e LOOKOUT_CONFIG=/config/lookout.toml -v ./lookout.toml:/config/lookout.toml:ro,
# or the whole file in -e LOOKOUT_CONFIG_TOML="$(cat lookout.toml)"; tokens as -e VARIABLES.
# (No Docker engine on the dev machines: `make fresh-check` and CI run the same steps outside it.)

FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src

# Layer 1, tools (wasm32 target, Trunk, wasm-bindgen-cli, npm's wasm-opt): rebuilt only when
# setup.sh, the wasm-bindgen version in Cargo.lock or the npm lockfile change.
COPY Cargo.lock ./
COPY scripts/setup.sh scripts/test-postgres.sh scripts/
COPY end2end/package.json end2end/package-lock.json end2end/
RUN scripts/setup.sh tools

# Layer 2, every crate in Cargo.lock for the server and the wasm client, from the manifests
# alone (empty stand-in sources): rebuilt only when a manifest or Cargo.lock changes. Trunk
# builds offline, so this is what the client build needs.
COPY Cargo.toml ./
COPY app/Cargo.toml app/
COPY server/Cargo.toml server/
RUN mkdir -p app/src server/src \
 && touch app/src/lib.rs server/src/lib.rs \
 && echo 'fn main() {}' > server/src/main.rs \
 && scripts/setup.sh fetch \
 && rm -rf app/src server/src

# Layer 3, the sources and the release build.
COPY . .
RUN make release

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /app lookout \
 && mkdir -p /data \
 && chown lookout:lookout /data
WORKDIR /app
COPY --from=build /src/target/release/lookout /app/lookout
COPY --from=build /src/target/site /app/site
# The demo's runbooks (runbooks_dir defaults to runbooks/ in the working directory; mount your
# own folder there or set runbooks_dir / LOOKOUT_RUNBOOKS_DIR).
COPY --from=build /src/runbooks /app/runbooks
COPY scripts/docker-entrypoint.sh /app/docker-entrypoint.sh
# The SQLite file lives in /data: mount a volume there (Fly, Railway, Render disks) or set
# DATABASE_URL to a PostgreSQL. PORT is what the PaaS routes to; all interfaces are bound.
ENV LOOKOUT_SITE_ROOT=/app/site \
    LOOKOUT_DATA_DIR=/data \
    PORT=3000 \
    LOG_FORMAT=json
VOLUME /data
EXPOSE 3000
# Starts as root only to hand a freshly mounted (root-owned) /data to the lookout user, then
# runs Lookout as that user (setpriv, from util-linux, which every Debian image has).
ENTRYPOINT ["/app/docker-entrypoint.sh"]
# With no LOOKOUT_CONFIG / LOOKOUT_CONFIG_TOML this serves the demo.
CMD ["/app/lookout", "serve"]
