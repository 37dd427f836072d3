//! The only writer to the terminal.
//!
//! Commands describe what happens (a line of progress, a finding, a JSON document) and the
//! [`Printer`] decides where it goes: human text on stdout (errors and warnings on stderr),
//! colored when colors are on; with `--format json`, nothing but one JSON document on stdout.

use std::io::{IsTerminal, Write};

use colored::Colorize;

use crate::diagnostic::{Diagnostic, Severity};
use crate::settings::Format;

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
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

/// Prints what commands report.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    pub format: Format,
    pub quiet: bool,
    pub verbose: u8,
}

impl Printer {
    pub fn human(&self) -> bool {
        self.format == Format::Human
    }

    /// A line of human output (suppressed by `--quiet` and in JSON mode).
    pub fn line(&self, text: impl AsRef<str>) {
        if self.human() && !self.quiet {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", text.as_ref());
            let _ = out.flush();
        }
    }

    /// A line that is printed even under `--quiet` (results a script needs).
    pub fn result(&self, text: impl AsRef<str>) {
        if self.human() {
            let _ = writeln!(std::io::stdout().lock(), "{}", text.as_ref());
        }
    }

    /// Detail shown with `-v`.
    pub fn verbose(&self, text: impl AsRef<str>) {
        if self.human() && self.verbose > 0 {
            let _ = writeln!(std::io::stdout().lock(), "{}", text.as_ref().dimmed());
        }
    }

    /// A warning on stderr (human mode; JSON documents carry their own warnings).
    pub fn warn(&self, text: impl AsRef<str>) {
        if self.human() {
            let _ = writeln!(
                std::io::stderr().lock(),
                "{} {}",
                "warning:".yellow().bold(),
                text.as_ref()
            );
        }
    }

    /// Findings, rendered compiler-style, to `stdout` (for `check`) or `stderr`.
    pub fn diagnostics(&self, diags: &[Diagnostic], to_stderr: bool) {
        if !self.human() {
            return;
        }
        let text: String = diags
            .iter()
            .map(|d| paint(&d.render(), d.severity) + "\n")
            .collect();
        if to_stderr {
            let _ = write!(std::io::stderr().lock(), "{text}");
        } else {
            let _ = write!(std::io::stdout().lock(), "{text}");
        }
    }

    /// The JSON document of a command (JSON mode only).
    pub fn json(&self, doc: &serde_json::Value) {
        if self.format == Format::Json {
            let mut out = std::io::stdout().lock();
            let _ = serde_json::to_writer_pretty(&mut out, doc);
            let _ = writeln!(out);
        }
    }
}

/// Color the first line's `severity[code]` and the `-->`/`|`/`=` gutters of a rendered finding.
pub fn paint(rendered: &str, severity: Severity) -> String {
    let mut out = String::with_capacity(rendered.len() + 32);
    for (i, line) in rendered.lines().enumerate() {
        if i == 0 {
            if let Some(end) = line.find("]: ") {
                let head = &line[..end + 1];
                let head = match severity {
                    Severity::Error => head.red().bold(),
                    Severity::Warning => head.yellow().bold(),
                    Severity::Info => head.cyan().bold(),
                };
                out.push_str(&format!("{head}{}", line[end + 1..].bold()));
            } else {
                out.push_str(line);
            }
        } else if let Some(idx) = line
            .find("--> ")
            .or_else(|| line.find(" | ").map(|i| i + 1))
            .or_else(|| line.find("= help:"))
        {
            let (gutter, rest) = line.split_at(idx);
            if rest.starts_with("--> ") {
                out.push_str(&format!("{}{}{}", gutter, "-->".blue().bold(), &rest[3..]));
            } else if let Some(after) = rest.strip_prefix("= help:") {
                out.push_str(&format!("{}{}{}", gutter, "= help:".cyan().bold(), after));
            } else {
                let (bar, text) = rest.split_at(1);
                let text = if text.trim_start().starts_with('^') {
                    text.red().bold().to_string()
                } else {
                    text.to_string()
                };
                out.push_str(&format!(
                    "{}{}{}",
                    gutter.blue().bold(),
                    bar.blue().bold(),
                    text
                ));
            }
        } else if line.trim_end().ends_with('|') {
            out.push_str(&line.blue().bold().to_string());
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
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

/// Print an error that stopped a command: `error: …`, then `Caused by:` lines; `help:` lines
/// inside messages are colored. In JSON mode a document with `ok: false` goes to stdout too.
pub fn print_error(err: &anyhow::Error, printer: &Printer, command: &str) {
    let mut text = String::new();
    let mut chain = err.chain();
    if let Some(first) = chain.next() {
        text.push_str(&format!(
            "{} {}",
            "error:".red().bold(),
            paint_help(&first.to_string())
        ));
    }
    let causes: Vec<String> = chain.map(|c| c.to_string()).collect();
    if !causes.is_empty() {
        text.push_str("\n\nCaused by:");
        for c in causes {
            text.push_str(&format!("\n    {}", paint_help(&c)));
        }
    }
    eprintln!("{text}");
    if printer.format == Format::Json {
        let chain: Vec<String> = err.chain().map(|c| c.to_string()).collect();
        printer.json(
            &serde_json::json!({ "command": command, "ok": false, "error": chain.join(": ") }),
        );
    }
}

fn paint_help(text: &str) -> String {
    text.lines()
        .map(|l| match l.strip_prefix("help:") {
            Some(rest) => format!("{}{}", "help:".cyan().bold(), rest),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        use std::time::Duration;
        assert_eq!(duration(Duration::from_micros(300)), "<1 ms");
        assert_eq!(duration(Duration::from_millis(35)), "35 ms");
        assert_eq!(duration(Duration::from_millis(1250)), "1.2 s");
    }

    #[test]
    fn paint_without_colors_is_identity() {
        colored::control::set_override(false);
        let d = Diagnostic::error("x", "y")
            .with_file("f.sql")
            .with_location(1, 1)
            .with_source_line("SELECT 1;", 6);
        let text = d.render();
        assert_eq!(paint(&text, Severity::Error), text);
    }
}
