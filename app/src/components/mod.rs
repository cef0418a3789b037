pub mod badges;
pub mod environment_card;
pub mod history_list;
pub mod rollback_actions;
pub mod runbook_links;
pub mod service_row;
pub mod sparkline;
pub mod top_bar;
