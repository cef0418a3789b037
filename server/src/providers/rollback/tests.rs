use super::*;
use crate::providers::testkit::named;
use crate::providers::CommitInfo;
use app::model::DeployState;

fn deployment(id: &str, sha: Option<&str>) -> ProviderDeployment {
    ProviderDeployment {
        origin: Vec::new(),
        rollback_refusal: None,
        id: id.into(),
        state: DeployState::Ready,
        provider_state: "live".into(),
        environment: named("production"),
        commit: CommitInfo {
            sha: sha.map(str::to_string),
            ..CommitInfo::default()
        },
        pr_number: None,
        creator: None,
        created_at: None,
        finished_at: None,
        url: None,
        dashboard_url: None,
    }
}

#[test]
fn the_target_or_its_rebuild_of_the_same_commit_counts_as_the_outcome() {
    let target = deployment("dep-old", Some("aaa"));
    let started = RollbackStarted {
        new_deployment_id: Some("dep-new".into()),
        ..RollbackStarted::default()
    };
    assert!(is_rollback_outcome(&target, &target, &started));
    assert!(is_rollback_outcome(
        &deployment("dep-new", Some("aaa")),
        &target,
        &started
    ));
    // A deployment the rollback created but of another commit is not the target.
    assert!(!is_rollback_outcome(
        &deployment("dep-new", Some("bbb")),
        &target,
        &started
    ));
    // Someone else's deployment of the same commit is not ours.
    assert!(!is_rollback_outcome(
        &deployment("dep-other", Some("aaa")),
        &target,
        &started
    ));
}

#[test]
fn hold_names_round_trip() {
    for kind in [
        HoldKind::AutoDeployPaused,
        HoldKind::PublishingLocked,
        HoldKind::Pinned,
    ] {
        assert_eq!(HoldKind::from_name(kind.name()), Some(kind));
        for release in kind.releases() {
            assert_eq!(HoldRelease::from_name(release.name()), Some(*release));
        }
    }
}
