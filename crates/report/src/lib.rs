//! # ddlab-report
//!
//! The human-readable end of a sweep: the answer and the verdict as Markdown, the figures (SVG and PNG,
//! drawn with plotters in a shipped font, for papers) and one self-contained HTML report whose curves
//! are interactive. It reads and writes nothing: callers hand it the [`ddlab_analysis::Analysis`] and
//! the rows to show, and store the text and bytes it returns.

mod chart;
mod figures;
mod html;
mod markdown;
mod summary;

pub use figures::{Figure, ReportError, draw_figures, draw_forest};
pub use html::{ReportFigure, ReportInputs, report_html};
pub use markdown::{forest_name, num, study_markdown, verdict_markdown};
