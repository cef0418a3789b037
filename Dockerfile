# Lookout: the same Trunk + cargo release build as `make release`, in a small runtime image.
# Build: docker build -t lookout .      Run: docker run -p 3000:3000 lookout
# (No Docker engine on the dev machines: CI runs the same steps, `make release`, outside Docker.)

FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Tools first, so they cache independently of the sources.
COPY Cargo.toml Cargo.lock ./
COPY scripts/setup.sh scripts/setup.sh
COPY end2end/package.json end2end/package-lock.json end2end/
RUN scripts/setup.sh build
COPY . .
RUN make release

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app lookout
WORKDIR /app
COPY --from=build /src/target/release/lookout /app/lookout
COPY --from=build /src/target/site /app/site
# The demo's runbooks (runbooks_dir defaults to runbooks/ in the working directory; mount your
# own folder there or set runbooks_dir / LOOKOUT_RUNBOOKS_DIR).
COPY --from=build /src/runbooks /app/runbooks
ENV LOOKOUT_SITE_ROOT=/app/site \
    PORT=3000 \
    LOG_FORMAT=json
USER lookout
EXPOSE 3000
# With no LOOKOUT_CONFIG this serves the demo; mount a config and set LOOKOUT_CONFIG for real use.
CMD ["/app/lookout", "serve"]
