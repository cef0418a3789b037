//! Whether the open page receives live updates; shown in the page header.

/// The state of the page's live stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiveConnection {
    /// Server-rendered page without (or before) WebAssembly: shows the data as of its render.
    Static,
    Connecting,
    Live,
    /// The stream dropped; the browser reconnects and the page polls meanwhile.
    Reconnecting,
    /// What the page shows will not change any more (a finished rollback).
    Finished,
}

impl LiveConnection {
    pub fn label(self) -> &'static str {
        match self {
            Self::Static => "Snapshot: reload for fresh data",
            Self::Connecting => "Connecting…",
            Self::Live => "Live",
            Self::Reconnecting => "Reconnecting…",
            Self::Finished => "Final",
        }
    }

    pub fn css_class(self) -> &'static str {
        match self {
            Self::Static => "muted",
            Self::Connecting | Self::Reconnecting => "busy",
            Self::Live | Self::Finished => "ok",
        }
    }
}
