pub mod badges;
pub mod environment_card;
pub mod service_row;
