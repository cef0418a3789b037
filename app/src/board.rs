//! Which rows of the status board a page carries. A team with a thousand services must not get
//! three thousand rows on its phone: the overview (`/`) shows each environment's rows that need
//! attention plus the first healthy ones, up to [`OVERVIEW_ROWS`] a card, and links to the
//! environment's own paged view (`/?environment=production&page=2`, [`PAGE_ROWS`] a page).
//! The server function, the live stream and the fallback poll all cut the snapshot the same
//! way, so a page never receives more than it shows. `GET /api/v1/status` stays complete.

pub use crate::model::board::{BoardQuery, RowWindow, OVERVIEW_ROWS, PAGE_ROWS};
use crate::model::{EnvironmentStatus, RollupStatus, StatusSnapshot};

/// A row limit as an index into a card's rows (`u32` fits `usize` on every target we build;
/// the fallback only keeps this total).
fn as_index(rows: u32) -> usize {
    usize::try_from(rows).unwrap_or(usize::MAX)
}

/// A row count for the wire. No environment nears `u32::MAX` services; if one did, the footer
/// would say "at least this many" rather than a wrapped-around number.
fn as_count(rows: usize) -> u32 {
    u32::try_from(rows).unwrap_or(u32::MAX)
}

impl StatusSnapshot {
    /// The part of the snapshot a page of the board shows; `None` for an environment that
    /// does not exist. The roll-up of every card is unchanged: rows that need attention are
    /// kept first, worst first.
    pub fn board(&self, query: &BoardQuery) -> Option<StatusSnapshot> {
        let environments = match query.environment.as_deref().filter(|name| !name.is_empty()) {
            None => self.environments.iter().map(overview_card).collect(),
            Some(name) => {
                let environment = self.environments.iter().find(|e| e.name == name)?;
                vec![environment_page(environment, query.page.unwrap_or(1))]
            }
        };
        Some(StatusSnapshot {
            generated_at: self.generated_at,
            revision: self.revision,
            demo: self.demo,
            environments,
        })
    }
}

fn overview_card(environment: &EnvironmentStatus) -> EnvironmentStatus {
    let limit = as_index(OVERVIEW_ROWS);
    let total = environment.services.len();
    if total <= limit {
        return environment.clone();
    }
    // Rows that need attention, worst first, then the first healthy ones in config order;
    // the card keeps config order among what it shows.
    let mut attention: Vec<(RollupStatus, usize)> = environment
        .services
        .iter()
        .enumerate()
        .map(|(index, service)| (service.rollup(), index))
        .filter(|(rollup, _)| *rollup != RollupStatus::Operational)
        .collect();
    attention.sort();
    let mut shown: Vec<usize> = attention
        .iter()
        .take(limit)
        .map(|(_, index)| *index)
        .collect();
    let healthy_room = limit.saturating_sub(shown.len());
    shown.extend(
        environment
            .services
            .iter()
            .enumerate()
            .filter(|(_, service)| service.rollup() == RollupStatus::Operational)
            .map(|(index, _)| index)
            .take(healthy_room),
    );
    shown.sort_unstable();
    let hidden_attention = attention.len().saturating_sub(limit);
    let hidden = total - shown.len();
    EnvironmentStatus {
        services: shown
            .iter()
            .map(|index| environment.services[*index].clone())
            .collect(),
        window: Some(RowWindow {
            total: as_count(total),
            hidden: as_count(hidden),
            hidden_operational: as_count(hidden - hidden_attention),
            page: None,
            rollup: environment.rollup(),
        }),
        ..without_services(environment)
    }
}

fn environment_page(environment: &EnvironmentStatus, page: u32) -> EnvironmentStatus {
    let per_page = as_index(PAGE_ROWS);
    let total = environment.services.len();
    let pages = as_count(total.div_ceil(per_page).max(1));
    let page = page.clamp(1, pages);
    let start = as_index(page - 1).saturating_mul(per_page);
    let services: Vec<_> = environment
        .services
        .iter()
        .skip(start)
        .take(per_page)
        .cloned()
        .collect();
    let hidden_operational = environment
        .services
        .iter()
        .enumerate()
        .filter(|(index, _)| *index < start || *index >= start + services.len())
        .filter(|(_, service)| service.rollup() == RollupStatus::Operational)
        .count();
    EnvironmentStatus {
        window: Some(RowWindow {
            total: as_count(total),
            hidden: as_count(total - services.len()),
            hidden_operational: as_count(hidden_operational),
            page: Some((page, pages)),
            rollup: environment.rollup(),
        }),
        services,
        ..without_services(environment)
    }
}

fn without_services(environment: &EnvironmentStatus) -> EnvironmentStatus {
    EnvironmentStatus {
        name: environment.name.clone(),
        kind: environment.kind,
        branch: environment.branch.clone(),
        pr_number: environment.pr_number,
        services: Vec::new(),
        window: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests::service;
    use crate::model::{EnvironmentKind, HealthState};
    use chrono::Utc;

    fn environment(name: &str, services: Vec<crate::model::ServiceStatus>) -> EnvironmentStatus {
        EnvironmentStatus {
            name: name.into(),
            kind: EnvironmentKind::Production,
            branch: None,
            pr_number: None,
            services,
            window: None,
        }
    }

    fn named(index: usize, health: HealthState) -> crate::model::ServiceStatus {
        let mut row = service(health, true, false);
        row.service = format!("svc-{index:04}");
        row
    }

    fn snapshot(environments: Vec<EnvironmentStatus>) -> StatusSnapshot {
        StatusSnapshot {
            generated_at: Utc::now(),
            revision: 7,
            demo: false,
            environments,
        }
    }

    #[test]
    fn small_environments_are_shown_whole() {
        let rows = (0..as_index(OVERVIEW_ROWS))
            .map(|i| named(i, HealthState::Up))
            .collect();
        let full = snapshot(vec![environment("production", rows)]);
        assert_eq!(full.board(&BoardQuery::default()), Some(full.clone()));
    }

    #[test]
    fn the_overview_keeps_every_problem_and_fills_up_with_healthy_rows_in_order() {
        let rows = (0..1000)
            .map(|i| match i {
                500 => named(i, HealthState::Down),
                700 => named(i, HealthState::Degraded),
                _ => named(i, HealthState::Up),
            })
            .collect();
        let full = snapshot(vec![environment("production", rows)]);
        let board = full.board(&BoardQuery::default()).unwrap();
        let card = &board.environments[0];
        assert_eq!(card.services.len(), as_index(OVERVIEW_ROWS));
        let names: Vec<&str> = card.services.iter().map(|s| s.service.as_str()).collect();
        assert_eq!(names[0], "svc-0000");
        assert_eq!(names[22], "svc-0022");
        assert_eq!(&names[23..], ["svc-0500", "svc-0700"]);
        assert_eq!(card.rollup(), full.environments[0].rollup());
        assert_eq!(
            card.window,
            Some(RowWindow {
                total: 1000,
                hidden: 975,
                hidden_operational: 975,
                page: None,
                rollup: RollupStatus::Down,
            })
        );
        assert_eq!(board.revision, 7);
    }

    #[test]
    fn an_outage_of_everything_still_sends_a_bounded_card_with_the_worst_rows() {
        let rows = (0..300)
            .map(|i| {
                named(
                    i,
                    if i == 299 {
                        HealthState::Down
                    } else {
                        HealthState::Degraded
                    },
                )
            })
            .collect();
        let full = snapshot(vec![environment("production", rows)]);
        let card = full.board(&BoardQuery::default()).unwrap().environments[0].clone();
        assert_eq!(card.services.len(), as_index(OVERVIEW_ROWS));
        assert_eq!(card.rollup(), RollupStatus::Down);
        let window = card.window.unwrap();
        assert_eq!((window.hidden, window.hidden_operational), (275, 0));
    }

    #[test]
    fn an_environment_view_pages_through_every_row_and_drops_the_other_cards() {
        let rows = (0..250)
            .map(|i| match i {
                240 => named(i, HealthState::Down),
                _ => named(i, HealthState::Up),
            })
            .collect();
        let other = environment("staging", vec![named(0, HealthState::Up)]);
        let full = snapshot(vec![environment("production", rows), other]);
        let page = |n| {
            full.board(&BoardQuery::environment_page("production", n))
                .unwrap()
        };
        let third = page(3);
        // Page 1 shows only healthy rows; the card still says the environment has an outage.
        assert_eq!(page(1).environments[0].rollup(), RollupStatus::Down);
        assert_eq!(third.environments.len(), 1);
        let card = &third.environments[0];
        assert_eq!(card.services.len(), 50);
        assert_eq!(card.services[0].service, "svc-0200");
        assert_eq!(card.window.as_ref().unwrap().page, Some((3, 3)));
        assert_eq!(card.window.as_ref().unwrap().hidden, 200);
        assert_eq!(
            card.window.as_ref().unwrap().shown_range(),
            Some((201, 250))
        );
        // Out-of-range pages land on the nearest real one.
        assert_eq!(page(9), third);
        assert_eq!(page(0), page(1));
        assert!(full
            .board(&BoardQuery::environment_page("nope", 1))
            .is_none());
    }

    #[test]
    fn the_query_string_round_trips_names_with_slashes() {
        let query = BoardQuery::environment_page("preview/feature x", 2);
        assert_eq!(query.href(), "/?environment=preview%2Ffeature%20x&page=2");
        assert_eq!(
            BoardQuery::environment_page("production", 1).href(),
            "/?environment=production"
        );
        assert_eq!(BoardQuery::default().href(), "/");
    }
}
