//! # ddlab-report
//!
//! The human-readable end of a sweep: the verdict as Markdown, the figures (SVG and PNG, drawn with
//! plotters in a shipped font) and one self-contained HTML report. It reads and writes nothing:
//! callers hand it the [`ddlab_analysis::Analysis`] and the rows to show, and store the text and bytes it
//! returns.

mod figures;
mod html;
mod markdown;

pub use figures::{Figure, ReportError, draw_figures};
pub use html::{ReportInputs, report_html};
pub use markdown::verdict_markdown;
