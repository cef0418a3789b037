//! What the pages' filter forms share: a filter's `<select>` with its "All" option.

use leptos::prelude::*;

/// One option of a filter: the value the form sends and the label shown.
pub type FilterOption = (String, String);

/// The options of a filter whose values are their own labels.
pub fn same_labels(values: Vec<String>) -> Vec<FilterOption> {
    values
        .into_iter()
        .map(|value| (value.clone(), value))
        .collect()
}

/// A filter's `<select>` in its `<label>`: "All" (the empty value) first, then `options`,
/// with `selected` preselected.
#[component]
pub fn FilterSelect(
    label: &'static str,
    name: &'static str,
    options: Vec<FilterOption>,
    selected: String,
) -> impl IntoView {
    let options = options
        .into_iter()
        .map(|(value, text)| {
            let is_selected = value == selected;
            view! { <option value=value selected=is_selected>{text}</option> }
        })
        .collect_view();
    view! {
        <label>{label}
            <select name=name><option value="">"All"</option>{options}</select>
        </label>
    }
}
