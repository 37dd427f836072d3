//! The only writer to the terminal.
//!
//! Commands hand the [`Printer`] what happened (an [`Event`] while they run, a report ([`Render`]) at the
//! end) and it decides where that goes: human text on stdout (errors and warnings on stderr),
//! colored when colors are on, or with `--format json` nothing but one JSON document on stdout.
//! Everything a person reads is rendered in [`human`]; colors live only there.
//!
//! Two decisions are made here and nowhere else:
//! - **Paths are shown relative to the workspace root.** The rest of the tool keeps absolute
//!   paths, in messages too; every string the printer writes (human or JSON) has the root's
//!   `<root>/` prefix removed.
//! - **A closed pipe is not an error.** `cargo migrate schema | head -1` ends quietly: once a
//!   stream reports a broken pipe, nothing more is written to it and the command finishes with
//!   its own exit code (0 for a successful read-only command). Other write errors are ignored
//!   as well; the exit code still tells the truth about the work.

pub mod ci;
pub mod human;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

use serde::Serialize;

use crate::diagnostic::Diagnostic;
use crate::events::{Event, Progress};
use crate::report::ErrorReport;
use crate::settings::Format;

pub use human::{Paint, Styled};

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    /// On for a terminal, unless `NO_COLOR` is set.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Decide colors once for the process: `always`/`never` win; `auto` means on for a terminal
/// unless `NO_COLOR` is set (`CLICOLOR_FORCE` forces them on).
pub fn init_colors(choice: ColorChoice) {
    let on = match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| v != "0") {
                true
            } else {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stdout().is_terminal()
            }
        }
    };
    colored::control::set_override(on);
}

/// One output stream; once it reports a broken pipe it is closed for good.
struct Stream {
    writer: Box<dyn Write + Send>,
    closed: bool,
}

impl Stream {
    fn write(&mut self, text: &str) {
        if self.closed {
            return;
        }
        let result = self
            .writer
            .write_all(text.as_bytes())
            .and_then(|()| self.writer.flush());
        if let Err(err) = result {
            if err.kind() == std::io::ErrorKind::BrokenPipe {
                self.closed = true;
            }
        }
    }
}

/// Which stream a piece of human text goes to, and whether `--quiet` drops it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channel {
    /// Progress and detail on stdout; dropped by `--quiet`.
    Line,
    /// A result a script needs, on stdout; kept under `--quiet`.
    Result,
    /// Findings and warnings on stderr; always shown.
    Stderr,
    /// A diff or other long text on stdout; dropped by `--quiet`.
    Detail,
    /// Long text on stderr; dropped by `--quiet`.
    StderrDetail,
    /// What stopped a command (an error, an interrupt), on stderr, in every format: a JSON
    /// run still explains itself to the person watching.
    Always,
}

/// Prints what commands report.
pub struct Printer {
    /// `--format`.
    pub format: Format,
    /// `--quiet`.
    pub quiet: bool,
    /// `--verbose`.
    pub verbose: u8,
    root: RwLock<Option<PathBuf>>,
    /// `$GITHUB_STEP_SUMMARY` under `--format github`: the job summary file.
    step_summary: Option<PathBuf>,
    stdout: Mutex<Stream>,
    /// Whether a progress line may be drawn: stderr is a terminal, human output, no `-q`.
    live_progress: bool,
    /// Whether a progress line is on the terminal now (cleared before any other text).
    progress_shown: std::sync::atomic::AtomicBool,
    stderr: Mutex<Stream>,
}

impl std::fmt::Debug for Printer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Printer")
            .field("format", &self.format)
            .field("quiet", &self.quiet)
            .field("verbose", &self.verbose)
            .finish_non_exhaustive()
    }
}

impl Printer {
    /// A printer on the process's stdout and stderr.
    pub fn new(format: Format, quiet: bool, verbose: u8) -> Printer {
        let mut printer = Printer::with_writers(
            format,
            quiet,
            verbose,
            Box::new(std::io::stdout()),
            Box::new(std::io::stderr()),
        );
        printer.live_progress = std::io::stderr().is_terminal()
            && matches!(format, Format::Human | Format::Github)
            && !quiet;
        if format == Format::Github {
            printer.step_summary = std::env::var_os("GITHUB_STEP_SUMMARY")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from);
        }
        printer
    }

    /// A printer on the given writers (tests capture output this way).
    pub fn with_writers(
        format: Format,
        quiet: bool,
        verbose: u8,
        stdout: Box<dyn Write + Send>,
        stderr: Box<dyn Write + Send>,
    ) -> Printer {
        Printer {
            format,
            quiet,
            verbose,
            root: RwLock::new(None),
            step_summary: None,
            live_progress: false,
            progress_shown: std::sync::atomic::AtomicBool::new(false),
            stdout: Mutex::new(Stream {
                writer: stdout,
                closed: false,
            }),
            stderr: Mutex::new(Stream {
                writer: stderr,
                closed: false,
            }),
        }
    }

    /// A printer that writes nothing anywhere.
    pub fn sink() -> Printer {
        Printer::with_writers(
            Format::Human,
            true,
            0,
            Box::new(std::io::sink()),
            Box::new(std::io::sink()),
        )
    }

    /// Whether this is human output.
    pub fn human(&self) -> bool {
        matches!(self.format, Format::Human | Format::Github)
    }

    /// Show paths under `root` relative to it from now on.
    pub fn set_root(&self, root: &Path) {
        if let Ok(mut r) = self.root.write() {
            *r = Some(root.to_path_buf());
        }
    }

    /// `text` with the workspace root's prefix removed from every path in it.
    pub fn relative(&self, text: &str) -> String {
        let root = self.root.read().ok().and_then(|r| r.clone());
        match root {
            Some(root) => {
                let mut prefix = root.display().to_string();
                if !prefix.ends_with(std::path::MAIN_SEPARATOR) {
                    prefix.push(std::path::MAIN_SEPARATOR);
                }
                text.replace(&prefix, "")
            }
            None => text.to_string(),
        }
    }

    /// Write human text on a channel (nothing in JSON mode).
    /// One line of progress on the terminal, drawn over the previous one (`12/300 targets,
    /// 1 failed`). Nothing when stderr is not a terminal, in JSON, or under `-q`.
    pub fn progress(&self, text: &str) {
        if !self.live_progress {
            return;
        }
        if let Ok(mut s) = self.stderr.lock() {
            s.write(&format!("\r\x1b[2K{text}"));
        }
        self.progress_shown
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Take the progress line off the terminal.
    pub fn progress_done(&self) {
        if self
            .progress_shown
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            if let Ok(mut s) = self.stderr.lock() {
                s.write("\r\x1b[2K");
            }
        }
    }

    pub(crate) fn write(&self, channel: Channel, text: &str) {
        // Text never lands on the end of a progress line.
        self.progress_done();
        if !self.human() && channel != Channel::Always {
            return;
        }
        let quiet_drops = matches!(
            channel,
            Channel::Line | Channel::Detail | Channel::StderrDetail
        );
        if quiet_drops && self.quiet {
            return;
        }
        let text = self.relative(text);
        let stream = match channel {
            Channel::Line | Channel::Result | Channel::Detail => &self.stdout,
            Channel::Stderr | Channel::StderrDetail | Channel::Always => &self.stderr,
        };
        if let Ok(mut s) = stream.lock() {
            s.write(&text);
        }
    }

    /// Text that is a command's whole output (a completion script, a man page): on stdout,
    /// exactly as given, in every format and under `--quiet`.
    pub fn document(&self, text: &str) {
        if let Ok(mut s) = self.stdout.lock() {
            s.write(text);
        }
    }

    /// A line of human progress (suppressed by `--quiet`).
    pub fn line(&self, text: impl AsRef<str>) {
        self.write(Channel::Line, &format!("{}\n", text.as_ref()));
    }

    /// A warning on stderr.
    pub fn warn(&self, text: impl AsRef<str>) {
        self.write(Channel::Stderr, &human::warning(text.as_ref()));
    }

    /// A note on stderr: something the tool did on purpose that the user may not expect.
    pub fn note(&self, text: impl AsRef<str>) {
        self.write(Channel::Stderr, &human::note(text.as_ref()));
    }

    /// Findings on stderr, rendered compiler-style.
    pub fn diagnostics(&self, diags: &[Diagnostic]) {
        self.write(Channel::Stderr, &human::diagnostics(diags));
    }

    /// Ask a yes/no question on the terminal: `None` when stdin or stderr is not a terminal
    /// (a script cannot answer), else whether the answer was yes. No answer is no.
    pub fn confirm(&self, question: &str) -> Option<bool> {
        if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
            return None;
        }
        if let Ok(mut s) = self.stderr.lock() {
            s.write(&format!("{question} [y/N] "));
        }
        let mut answer = String::new();
        if std::io::stdin().read_line(&mut answer).is_err() {
            return Some(false);
        }
        Some(matches!(
            answer.trim().to_ascii_lowercase().as_str(),
            "y" | "yes"
        ))
    }

    /// A short message on stderr in every format (the interrupt handler's, outside a run).
    pub fn stop_message(&self, text: &str) {
        self.write(Channel::Always, &format!("{text}\n"));
    }

    /// An error that stopped `command`: `error: …` and its causes on stderr, and in JSON mode
    /// also a document with `ok: false` on stdout.
    pub fn error(&self, err: &anyhow::Error, command: &'static str) {
        let chain: Vec<String> = err.chain().map(|c| c.to_string()).collect();
        if self.format == Format::Sarif {
            let report = ErrorReport {
                command,
                ok: false,
                error: chain.join(": "),
                chain,
            };
            report.human(&Human { printer: self });
            let relative = |p: &Path| self.relative(&p.display().to_string());
            let log = ci::sarif_log(&report, Some(&self.relative(&report.error)), &relative);
            self.json_document(log);
            return;
        }
        if self.format == Format::Github {
            let error = self.relative(&chain.join(": "));
            let line = ci::github_error(command, &error);
            if let Ok(mut s) = self.stdout.lock() {
                s.write(&line);
            }
            self.append_step_summary(&ci::github_error_summary(command, &error));
        }
        self.report(&ErrorReport {
            command,
            ok: false,
            error: chain.join(": "),
            chain,
        });
    }

    /// The final report of a command: human text, or its JSON document (keys in alphabetical
    /// order at every level).
    pub fn report<R: Serialize + Render>(&self, report: &R) {
        let human = Human { printer: self };
        let relative = |p: &Path| self.relative(&p.display().to_string());
        match self.format {
            Format::Human => report.human(&human),
            Format::Json => {
                if report.explains_in_json() {
                    // Only its `Always` text gets through in JSON mode.
                    report.human(&human);
                }
                let value = serde_json::to_value(report).unwrap_or(serde_json::Value::Null);
                self.json_document(value);
            }
            Format::Github => {
                report.human(&human);
                let mut lines = String::new();
                for d in report.findings() {
                    lines.push_str(&ci::github_annotation(d, &relative));
                }
                let lines = self.relative(&lines);
                if let Ok(mut s) = self.stdout.lock() {
                    s.write(&lines);
                }
                let value = serde_json::to_value(report).unwrap_or_default();
                // An error report has made its own summary (see `error`).
                if value.get("error").is_none() {
                    let command = value["command"].as_str().unwrap_or_default();
                    self.append_step_summary(&ci::github_summary(command, report, &relative));
                }
            }
            Format::Sarif => {
                if report.explains_in_json() {
                    report.human(&human);
                }
                self.json_document(ci::sarif_log(report, None, &relative));
            }
        }
    }

    /// Append Markdown to the job summary file, when there is one.
    fn append_step_summary(&self, text: &str) {
        let Some(path) = &self.step_summary else {
            return;
        };
        let text = self.relative(text);
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(text.as_bytes()));
        if let Err(e) = appended {
            self.warn(format!(
                "cannot append the job summary to `{}` ($GITHUB_STEP_SUMMARY): {e}",
                path.display()
            ));
        }
    }

    /// One JSON document on stdout, pretty-printed, with paths made relative.
    fn json_document(&self, value: serde_json::Value) {
        let doc = self.relative_json(value);
        let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        text.push('\n');
        if let Ok(mut s) = self.stdout.lock() {
            s.write(&text);
        }
    }

    fn relative_json(&self, value: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match value {
            Value::String(s) => Value::String(self.relative(&s)),
            Value::Array(items) => {
                Value::Array(items.into_iter().map(|v| self.relative_json(v)).collect())
            }
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| (k, self.relative_json(v)))
                    .collect(),
            ),
            other => other,
        }
    }
}

/// A report's text for people.
pub trait Render {
    /// Write the human text through `out`.
    fn human(&self, out: &Human<'_>);

    /// Whether the report also explains itself on stderr in JSON mode (errors, interrupts).
    fn explains_in_json(&self) -> bool {
        false
    }

    /// The findings the report holds, for annotations and SARIF.
    fn findings(&self) -> Vec<&Diagnostic> {
        Vec::new()
    }

    /// The diffs the report holds, as (what differs, unified diff), for the job summary.
    fn diffs(&self) -> Vec<(String, &str)> {
        Vec::new()
    }
}

/// Where a report writes its human text: the printer's channels, which apply `--quiet` and
/// make paths relative.
pub struct Human<'a> {
    printer: &'a Printer,
}

impl Human<'_> {
    /// A line of progress or detail on stdout (dropped by `--quiet`).
    pub fn line(&self, text: impl std::fmt::Display) {
        self.printer.write(Channel::Line, &format!("{text}\n"));
    }

    /// A result line on stdout (kept under `--quiet`).
    pub fn result(&self, text: impl std::fmt::Display) {
        self.printer.write(Channel::Result, &format!("{text}\n"));
    }

    /// Text on stdout as it is (kept under `--quiet`): a schema, say.
    pub fn raw(&self, text: &str) {
        self.printer.write(Channel::Result, text);
    }

    /// Text on stderr (its own newlines included).
    pub fn stderr(&self, text: &str) {
        self.printer.write(Channel::Stderr, text);
    }

    /// Text on stderr in every format: what stopped the command.
    pub fn always(&self, text: &str) {
        self.printer.write(Channel::Always, text);
    }

    /// A warning on stderr.
    pub fn warn(&self, text: impl AsRef<str>) {
        self.printer.warn(text);
    }

    /// Findings on stderr.
    pub fn diagnostics(&self, diags: &[Diagnostic]) {
        self.printer.diagnostics(diags);
    }

    /// Findings on stdout (the results of `check`).
    pub fn findings(&self, diags: &[Diagnostic]) {
        self.printer
            .write(Channel::Result, &human::diagnostics(diags));
    }

    /// A unified diff on stdout, colored, followed by a blank line (dropped by `--quiet`).
    pub fn diff(&self, diff: &str) {
        self.printer
            .write(Channel::Detail, &(human::paint_diff(diff) + "\n"));
    }

    /// A unified diff on stderr, colored (dropped by `--quiet`).
    pub fn stderr_diff(&self, diff: &str) {
        self.printer
            .write(Channel::StderrDetail, &human::paint_diff(diff));
    }

    /// `-v` count.
    pub fn verbose(&self) -> u8 {
        self.printer.verbose
    }
}

impl Progress for Printer {
    fn event(&self, event: Event<'_>) {
        if self.human() {
            human::event(self, event);
        }
    }
}

/// `1.2 s`, `35 ms`, `<1 ms`.
pub fn duration(d: std::time::Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1.0 {
        "<1 ms".to_string()
    } else if ms < 1000.0 {
        format!("{} ms", ms.round() as u64)
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

/// `1 migration`, `3 migrations`.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A writer whose bytes can be read back, or that fails with a broken pipe.
    #[derive(Clone, Default)]
    struct Capture {
        bytes: Arc<Mutex<Vec<u8>>>,
        broken: bool,
    }

    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.broken {
                return Err(std::io::ErrorKind::BrokenPipe.into());
            }
            self.bytes.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn durations_read_well() {
        use std::time::Duration;
        assert_eq!(duration(Duration::from_micros(300)), "<1 ms");
        assert_eq!(duration(Duration::from_millis(35)), "35 ms");
        assert_eq!(duration(Duration::from_millis(1250)), "1.2 s");
    }

    #[test]
    fn paths_under_the_root_are_shown_relative() {
        let out = Capture::default();
        let p = Printer::with_writers(
            Format::Human,
            false,
            0,
            Box::new(out.clone()),
            Box::new(std::io::sink()),
        );
        p.set_root(Path::new("/ws/app"));
        p.line("cannot read `/ws/app/migrations/x/up.sql` or `/ws/app-other/y`");
        let text = String::from_utf8(out.bytes.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            "cannot read `migrations/x/up.sql` or `/ws/app-other/y`\n"
        );
    }

    #[test]
    fn a_broken_pipe_closes_the_stream_quietly() {
        let p = Printer::with_writers(
            Format::Human,
            false,
            0,
            Box::new(Capture {
                broken: true,
                ..Default::default()
            }),
            Box::new(std::io::sink()),
        );
        // No panic, and later writes are dropped.
        for _ in 0..3 {
            p.line("x".repeat(100_000));
        }
        assert!(p.stdout.lock().unwrap().closed);
    }

    #[test]
    fn quiet_keeps_results_only() {
        let out = Capture::default();
        let p = Printer::with_writers(
            Format::Human,
            true,
            0,
            Box::new(out.clone()),
            Box::new(std::io::sink()),
        );
        p.line("progress");
        p.write(Channel::Result, "result\n");
        let text = String::from_utf8(out.bytes.lock().unwrap().clone()).unwrap();
        assert_eq!(text, "result\n");
    }
}
