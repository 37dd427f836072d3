//! Text for people: every line a command prints, and every color, is decided here.
//!
//! The functions take the values commands produce (events while they run, a report at the end)
//! and write them through the [`Printer`]'s channels, which apply `--quiet` and make paths
//! relative. Colors come from `colored`, switched on or off once per process.

use colored::Colorize;

use super::{duration, Channel, Printer};
use crate::diagnostic::{Diagnostic, Severity};
use crate::events::Event;
use crate::migration::Direction;

/// The tones text can have; which color each one is, is decided here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tone {
    Plain,
    Good,
    Bad,
    Caution,
    Note,
}

/// Text with a tone and an emphasis, shown in color when colors are on.
#[derive(Debug, Clone)]
pub struct Styled {
    text: String,
    tone: Tone,
    strong: bool,
    dim: bool,
}

impl Styled {
    fn new(text: String, tone: Tone) -> Styled {
        Styled {
            text,
            tone,
            strong: false,
            dim: false,
        }
    }

    /// Emphasised (bold).
    pub fn strong(mut self) -> Styled {
        self.strong = true;
        self
    }
}

impl std::fmt::Display for Styled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut c = match self.tone {
            Tone::Plain => self.text.normal(),
            Tone::Good => self.text.green(),
            Tone::Bad => self.text.red(),
            Tone::Caution => self.text.yellow(),
            Tone::Note => self.text.cyan(),
        };
        if self.strong {
            c = c.bold();
        }
        if self.dim {
            c = c.dimmed();
        }
        write!(f, "{c}")
    }
}

/// Tones for human text: what a word means, not which color it is.
pub trait Paint {
    /// Emphasised.
    fn strong(&self) -> Styled;
    /// Less important.
    fn dim(&self) -> Styled;
    /// Went well (applied, ok).
    fn good(&self) -> Styled;
    /// Went wrong (failed, unknown).
    fn bad(&self) -> Styled;
    /// Needs attention (pending, warnings, kept).
    fn caution(&self) -> Styled;
    /// A pointer (would run, recorded, help).
    fn note(&self) -> Styled;
}

impl<T: AsRef<str> + ?Sized> Paint for T {
    fn strong(&self) -> Styled {
        Styled::new(self.as_ref().to_string(), Tone::Plain).strong()
    }
    fn dim(&self) -> Styled {
        let mut s = Styled::new(self.as_ref().to_string(), Tone::Plain);
        s.dim = true;
        s
    }
    fn good(&self) -> Styled {
        Styled::new(self.as_ref().to_string(), Tone::Good)
    }
    fn bad(&self) -> Styled {
        Styled::new(self.as_ref().to_string(), Tone::Bad)
    }
    fn caution(&self) -> Styled {
        Styled::new(self.as_ref().to_string(), Tone::Caution)
    }
    fn note(&self) -> Styled {
        Styled::new(self.as_ref().to_string(), Tone::Note)
    }
}

/// `warning: …` with a newline.
pub(crate) fn warning(text: &str) -> String {
    format!("{} {text}\n", "warning:".yellow().bold())
}

pub(crate) fn note(text: &str) -> String {
    format!("{} {text}\n", "note:".bold())
}

/// Findings rendered compiler-style, each followed by a blank line.
pub(crate) fn diagnostics(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .map(|d| paint_diagnostic(&d.render(), d.severity) + "\n")
        .collect()
}

/// Color the first line's `severity[code]` and the `-->`/`|`/`=` gutters of a rendered finding.
pub fn paint_diagnostic(rendered: &str, severity: Severity) -> String {
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

/// Color a unified diff line by line (the newline stays outside the color codes).
pub fn paint_diff(diff: &str) -> String {
    let mut out = String::with_capacity(diff.len() + 64);
    for line in diff.lines() {
        let painted = if line.starts_with("+++") || line.starts_with("---") {
            line.bold().to_string()
        } else if line.starts_with("@@") {
            line.cyan().to_string()
        } else if line.starts_with('+') {
            line.green().to_string()
        } else if line.starts_with('-') {
            line.red().to_string()
        } else {
            line.to_string()
        };
        out.push_str(&painted);
        out.push('\n');
    }
    out
}

pub(crate) fn paint_help(text: &str) -> String {
    text.lines()
        .map(|l| match l.strip_prefix("help:") {
            Some(rest) => format!("{}{}", "help:".cyan().bold(), rest),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn line(p: &Printer, text: impl AsRef<str>) {
    p.write(Channel::Line, &format!("{}\n", text.as_ref()));
}

/// Progress while a command runs.
pub(crate) fn event(p: &Printer, event: Event<'_>) {
    match event {
        Event::SetStarted { set, database } => line(
            p,
            format!("{} {}", set.bold(), database.to_string().dimmed()),
        ),
        Event::WaitingForDatabase { seconds } => line(
            p,
            format!(
                "  {}",
                format!("waiting for the database to accept connections (up to {seconds} s)...")
                    .dimmed()
            ),
        ),
        Event::WaitingForLock => line(
            p,
            format!(
                "  {}",
                "waiting for the migration lock (another process is applying migrations)..."
                    .dimmed()
            ),
        ),
        Event::NothingToRun(direction) => {
            let what = match direction {
                Direction::Up => "  nothing to apply",
                Direction::Down => "  nothing to revert",
            };
            line(p, what.dimmed().to_string())
        }
        Event::Warning(text) => p.write(Channel::Stderr, &warning(text)),
        Event::WouldRun {
            dir_name,
            direction,
        } => {
            let word = match direction {
                Direction::Up => "would apply",
                Direction::Down => "would revert",
            };
            line(p, format!("  {} {dir_name}", word.cyan()))
        }
        Event::Ran {
            dir_name,
            direction,
            took,
            mixed,
        } => {
            let word = match (direction, mixed) {
                (Direction::Up, false) => "applied".green(),
                (Direction::Up, true) => "applied ".green(),
                (Direction::Down, _) => "reverted".yellow(),
            };
            line(
                p,
                format!(
                    "  {word} {dir_name} {}",
                    format!("({})", duration(took)).dimmed()
                ),
            )
        }
        Event::Failed {
            dir_name,
            diagnostic,
            mixed,
        } => {
            let word = if mixed { "failed  " } else { "failed " };
            line(p, format!("  {} {dir_name}", word.red().bold()));
            p.write(
                Channel::Stderr,
                &diagnostics(std::slice::from_ref(diagnostic)),
            );
        }
        Event::Recorded { dir_name } => line(p, format!("  {} {dir_name}", "recorded".cyan())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paint_without_colors_is_identity() {
        colored::control::set_override(false);
        let d = Diagnostic::lint("x", Severity::Error, "y")
            .with_file("f.sql")
            .with_location(1, 1)
            .with_source_line("SELECT 1;", 6);
        let text = d.render();
        assert_eq!(paint_diagnostic(&text, Severity::Error), text);
        assert_eq!(paint_diff("--- a\n+b\n"), "--- a\n+b\n");
    }
}
