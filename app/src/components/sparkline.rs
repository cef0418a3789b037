//! A latency sparkline: server-rendered SVG, no chart library.

use leptos::prelude::*;

const WIDTH: f64 = 96.0;
const HEIGHT: f64 = 22.0;

/// The polyline segments of a series (gaps split the line), scaled to the box.
pub fn sparkline_segments(points: &[Option<u32>]) -> Vec<String> {
    let max = points.iter().flatten().copied().max().unwrap_or(0).max(1) as f64;
    let step = if points.len() > 1 {
        WIDTH / (points.len() - 1) as f64
    } else {
        0.0
    };
    let mut segments = Vec::new();
    let mut current: Vec<String> = Vec::new();
    for (index, point) in points.iter().enumerate() {
        match point {
            Some(value) => {
                let x = index as f64 * step;
                let y = HEIGHT - 1.0 - (*value as f64 / max) * (HEIGHT - 2.0);
                current.push(format!("{x:.1},{y:.1}"));
            }
            None if !current.is_empty() => segments.push(std::mem::take(&mut current).join(" ")),
            None => {}
        }
    }
    if !current.is_empty() {
        segments.push(current.join(" "));
    }
    segments
}

#[component]
pub fn Sparkline(points: Vec<Option<u32>>, #[prop(into)] label: String) -> impl IntoView {
    let measured: Vec<u32> = points.iter().flatten().copied().collect();
    if measured.is_empty() {
        return view! { <span class="sparkline-empty muted-text">"no latency data yet"</span> }
            .into_any();
    }
    let max = measured.iter().copied().max().unwrap_or(0);
    let last = measured.last().copied().unwrap_or(0);
    let description = format!("{label}: latest {last} ms, highest {max} ms");
    let aria_label = description.clone();
    let segments = sparkline_segments(&points)
        .into_iter()
        .map(|points| view! { <polyline points=points/> })
        .collect_view();
    view! {
        <svg
            class="sparkline"
            viewBox=format!("0 0 {WIDTH} {HEIGHT}")
            width=WIDTH
            height=HEIGHT
            role="img"
            aria-label=aria_label
        >
            <title>{description}</title>
            {segments}
        </svg>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::sparkline_segments;

    #[test]
    fn gaps_split_the_line_and_the_highest_point_touches_the_top() {
        let segments = sparkline_segments(&[Some(10), Some(20), None, Some(20)]);
        assert_eq!(segments.len(), 2);
        assert_eq!(segments[0], "0.0,11.0 32.0,1.0");
        assert_eq!(segments[1], "96.0,1.0");
        assert!(sparkline_segments(&[None, None]).is_empty());
    }
}
