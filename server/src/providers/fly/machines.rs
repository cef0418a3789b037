//! What Fly's machines say: the image a machine runs (compared across Docker's spellings),
//! which machines serve the app, which release each one runs, and so what is live when the
//! machines and Fly's current release disagree (after a Machines-API rollback).

use super::*;

/// An image reference split for comparison: `registry/repository`, tag, digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ImageKey {
    pub(super) name: String,
    pub(super) tag: Option<String>,
    pub(super) digest: Option<String>,
}

impl ImageKey {
    /// Parses `registry/repo:tag@digest`. Docker Hub's spellings (`docker.io/`,
    /// `registry-1.docker.io/`, `index.docker.io/`, `library/`) are dropped so the same image
    /// compares equal however it is written, and a reference without tag or digest means
    /// `:latest`, as Docker reads it.
    pub(super) fn parse(reference: &str) -> Option<Self> {
        let reference = reference.trim();
        if reference.is_empty() {
            return None;
        }
        let (name_and_tag, digest) = match reference.split_once('@') {
            Some((name, digest)) => (name, Some(digest.to_ascii_lowercase())),
            None => (reference, None),
        };
        let last_slash = name_and_tag.rfind('/').map_or(0, |at| at + 1);
        let (name, tag) = match name_and_tag[last_slash..].rfind(':') {
            Some(colon) => {
                let at = last_slash + colon;
                (
                    &name_and_tag[..at],
                    Some(name_and_tag[at + 1..].to_string()),
                )
            }
            None => (name_and_tag, None),
        };
        let mut name = name.to_ascii_lowercase();
        for hub in ["docker.io/", "registry-1.docker.io/", "index.docker.io/"] {
            if let Some(rest) = name.strip_prefix(hub) {
                name = rest.to_string();
            }
        }
        if let Some(rest) = name.strip_prefix("library/") {
            name = rest.to_string();
        }
        let tag = match (tag, &digest) {
            (None, None) => Some("latest".to_string()),
            (tag, _) => tag,
        };
        Some(Self { name, tag, digest })
    }

    /// Same repository, and the same digest when both have one, else the same tag.
    pub(super) fn matches(&self, other: &Self) -> bool {
        if self.name != other.name {
            return false;
        }
        match (&self.digest, &other.digest, &self.tag, &other.tag) {
            (Some(a), Some(b), _, _) => a == b,
            (_, _, Some(a), Some(b)) => a == b,
            _ => false,
        }
    }
}

impl WireMachine {
    /// The image the machine runs: `config.image`, else rebuilt from `image_ref`.
    pub(super) fn image(&self) -> Option<ImageKey> {
        let configured = self
            .config
            .as_ref()
            .and_then(|config| config.image.as_deref())
            .and_then(ImageKey::parse);
        configured.or_else(|| {
            let image_ref = self.image_ref.as_ref()?;
            let repository = image_ref.repository.as_deref()?.trim();
            if repository.is_empty() {
                return None;
            }
            let mut reference = match image_ref.registry.as_deref().map(str::trim) {
                Some(registry) if !registry.is_empty() => format!("{registry}/{repository}"),
                _ => repository.to_string(),
            };
            if let Some(tag) = image_ref.tag.as_deref().filter(|tag| !tag.is_empty()) {
                reference.push(':');
                reference.push_str(tag);
            }
            if let Some(digest) = image_ref.digest.as_deref().filter(|d| !d.is_empty()) {
                reference.push('@');
                reference.push_str(digest);
            }
            ImageKey::parse(&reference)
        })
    }

    pub(super) fn metadata(&self, key: &str) -> Option<String> {
        let value = self.config.as_ref()?.metadata.as_ref()?.get(key)?;
        match value {
            Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_string()),
            Value::Number(number) => Some(number.to_string()),
            _ => None,
        }
    }

    pub(super) fn activity(&self) -> MachineActivity {
        machine_activity(self.state.as_deref().unwrap_or_default())
    }

    /// Release-command and console machines run beside the app, not as it.
    pub(super) fn is_app_machine(&self) -> bool {
        self.metadata(METADATA_PROCESS_GROUP)
            .is_none_or(|group| !NON_SERVING_PROCESS_GROUPS.contains(&group.as_str()))
    }
}

impl WireRelease {
    pub(super) fn state(&self) -> DeployState {
        release_state(self.status.as_deref().unwrap_or_default())
    }

    pub(super) fn image(&self) -> Option<ImageKey> {
        ImageKey::parse(self.image_ref.as_deref()?)
    }
}

/// Newest first by version; a release without a version goes last.
pub(super) fn newest_release<'a>(
    releases: impl Iterator<Item = &'a WireRelease>,
) -> Option<&'a WireRelease> {
    releases.max_by_key(|release| release.version.unwrap_or(i64::MIN))
}

/// Fly's own marker: `currentReleaseUnprocessed` when it is a successful release. Whether Fly
/// can name a failed or still-running release as current ("the latest release"), or none at
/// all, is UNCONFIRMED; then the newest successful release stands in, else the current one
/// whatever its status.
pub(super) fn marker_release<'a>(
    current: Option<&'a WireRelease>,
    recent: &'a [WireRelease],
) -> Option<&'a WireRelease> {
    if let Some(current) = current.filter(|release| release.state() == DeployState::Ready) {
        return Some(current);
    }
    newest_release(
        recent
            .iter()
            .filter(|release| release.state() == DeployState::Ready),
    )
    .or(current)
}

/// The machines that stand for the app's traffic: the started ones, else (an app scaled to
/// zero, or one mid-restart) those starting, stopped or suspended. Destroyed machines and
/// release-command/console machines never count.
pub(super) fn serving_machines(machines: &[WireMachine]) -> Vec<&WireMachine> {
    let app_machines: Vec<&WireMachine> = machines
        .iter()
        .filter(|machine| machine.is_app_machine())
        .collect();
    let started: Vec<&WireMachine> = app_machines
        .iter()
        .copied()
        .filter(|machine| machine.activity() == MachineActivity::Serving)
        .collect();
    if !started.is_empty() {
        return started;
    }
    app_machines
        .into_iter()
        .filter(|machine| {
            matches!(
                machine.activity(),
                MachineActivity::Starting | MachineActivity::Idle
            )
        })
        .collect()
}

/// The release a machine runs. The image decides: a rollback through the Machines API swaps
/// `config.image` but leaves the metadata naming the newer release. Among releases with that
/// image (a redeploy reuses one), the metadata's release wins, else the newest successful one.
/// A machine without image information is matched by its metadata alone; one whose image no
/// known release has matches nothing.
pub(super) fn release_for_machine<'a>(
    machine: &WireMachine,
    known: &[&'a WireRelease],
) -> Option<&'a WireRelease> {
    let release_id = machine.metadata(METADATA_RELEASE_ID);
    let release_version = machine
        .metadata(METADATA_RELEASE_VERSION)
        .and_then(|version| version.trim_start_matches('v').parse::<i64>().ok());
    let named_by_metadata = |release: &&WireRelease| {
        release_id.as_deref() == Some(release.id.as_str())
            || (release_version.is_some() && release.version == release_version)
    };
    let Some(image) = machine.image() else {
        return known
            .iter()
            .copied()
            .find(|release| named_by_metadata(release));
    };
    let same_image: Vec<&'a WireRelease> = known
        .iter()
        .copied()
        .filter(|release| release.image().is_some_and(|other| other.matches(&image)))
        .collect();
    same_image
        .iter()
        .copied()
        .find(|release| named_by_metadata(release))
        .or_else(|| {
            newest_release(
                same_image
                    .iter()
                    .copied()
                    .filter(|release| release.state() == DeployState::Ready),
            )
        })
        .or_else(|| newest_release(same_image.iter().copied()))
}

/// What serves traffic: the release most serving machines run (ties: the newer release).
/// When that differs from Fly's marker the machines win, because they are what answers
/// requests (a Machines-API rollback leaves the release list untouched). With no machines, or
/// none whose image a recent release has, Fly's marker stands.
pub(super) fn choose_live<'a>(
    current: Option<&'a WireRelease>,
    recent: &'a [WireRelease],
    machines: &[WireMachine],
) -> Option<&'a WireRelease> {
    let marker = marker_release(current, recent);
    let known: Vec<&WireRelease> = current.into_iter().chain(recent.iter()).collect();
    let mut tally: Vec<(&WireRelease, usize)> = Vec::new();
    for machine in serving_machines(machines) {
        match release_for_machine(machine, &known) {
            Some(release) => match tally.iter_mut().find(|(seen, _)| seen.id == release.id) {
                Some((_, count)) => *count += 1,
                None => tally.push((release, 1)),
            },
            // Its image is in no recent release (deployed by hand, or older than the scan):
            // it cannot be named, so it does not vote.
            None => tracing::debug!(
                provider = "fly",
                machine = machine.id.as_deref().unwrap_or_default(),
                "machine runs an image no recent release has"
            ),
        }
    }
    let by_machines = tally
        .into_iter()
        .max_by_key(|(release, count)| (*count, release.version.unwrap_or(i64::MIN)))
        .map(|(release, _)| release);
    match (by_machines, marker) {
        (Some(running), Some(marker)) if running.id != marker.id => {
            // Expected after a rollback through the Machines API, or mid-deploy; logged at
            // debug because every poll would repeat it.
            tracing::debug!(
                provider = "fly",
                running = running.version.unwrap_or_default(),
                marker = marker.version.unwrap_or_default(),
                "machines run another release than Fly's current one; showing what they run"
            );
            Some(running)
        }
        (Some(running), _) => Some(running),
        (None, marker) => marker,
    }
}
