//! Layout of `schema.rs` the way rustfmt leaves it.
//!
//! `diesel print-schema` pipes its output through `rustfmt`, so the committed file depends on
//! the project's rustfmt settings. This module reads the settings that can change that output
//! (`max_width`, `hard_tabs`, `tab_spaces`, `newline_style`, `use_small_heuristics`,
//! `fn_call_width`, `attr_fn_like_width`) from the nearest `rustfmt.toml` / `.rustfmt.toml`, and
//! provides [`Layout`], a line writer that applies rustfmt's rules for the few constructs a
//! schema file contains: nested modules, `#[derive]` and `#[diesel(..)]` attributes, the
//! untouched bodies of `table!`, and `allow_tables_to_appear_in_same_query!` argument lists.
//! No rustfmt binary is run; the rules were measured against rustfmt 1.9.

use std::path::{Path, PathBuf};

/// Errors while reading rustfmt settings.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The settings file could not be read.
    #[error("cannot read rustfmt settings {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The settings file is not valid TOML or a setting has the wrong type.
    #[error("invalid rustfmt settings in {path}: {message}; fix the file so rustfmt accepts it")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Line endings of the output (`newline_style`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NewlineStyle {
    /// Same as the input, which is always `\n` for generated text (`Auto`, the default).
    #[default]
    Auto,
    /// The platform's line ending (`Native`).
    Native,
    /// `\n` (`Unix`).
    Unix,
    /// `\r\n` (`Windows`).
    Windows,
}

/// How rustfmt derives its width limits from `max_width` (`use_small_heuristics`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SmallHeuristics {
    /// Limits scaled from `max_width` (the default).
    #[default]
    Default,
    /// Every limit equals `max_width`.
    Off,
    /// Every limit equals `max_width`.
    Max,
}

/// The rustfmt settings that influence a generated `schema.rs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatConfig {
    /// `max_width` (default 100).
    pub max_width: usize,
    /// `hard_tabs` (default false).
    pub hard_tabs: bool,
    /// `tab_spaces` (default 4).
    pub tab_spaces: usize,
    /// `newline_style` (default `Auto`).
    pub newline_style: NewlineStyle,
    /// `use_small_heuristics` (default `Default`).
    pub use_small_heuristics: SmallHeuristics,
    /// An explicit `fn_call_width`, if set.
    pub fn_call_width: Option<usize>,
    /// An explicit `attr_fn_like_width`, if set.
    pub attr_fn_like_width: Option<usize>,
    /// `short_array_element_width_threshold` (default 10): arguments up to this width are
    /// packed several to a line when a list does not fit on one line.
    pub short_array_element_width_threshold: usize,
    /// The file the settings came from, if any.
    pub source: Option<PathBuf>,
    /// Settings the file sets that rustfmt ignores on the stable channel, so they are ignored
    /// here too: one note each, for the commands that render a schema to show.
    pub notes: Vec<String>,
}

/// Unstable rustfmt options that would change how a schema file is laid out if rustfmt
/// honoured them; rustfmt on the stable channel warns and ignores them, and so does this tool.
const UNSTABLE_LAYOUT_OPTIONS: &[&str] = &[
    "indent_style",
    "brace_style",
    "format_macro_matchers",
    "format_macro_bodies",
    "normalize_doc_attributes",
    "normalize_comments",
    "wrap_comments",
    "comment_width",
    "overflow_delimited_expr",
    "trailing_comma",
    "blank_lines_upper_bound",
    "blank_lines_lower_bound",
    "imports_granularity",
    "imports_layout",
    "group_imports",
    "reorder_impl_items",
    "struct_field_align_threshold",
    "enum_discrim_align_threshold",
    "spaces_around_ranges",
    "type_punctuation_density",
    "where_single_line",
    "empty_item_single_line",
    "fn_single_line",
    "format_strings",
    "hex_literal_case",
    "version",
    "unstable_features",
];

/// An enum setting, read as rustfmt reads it: the variant's name in any case.
fn enum_value<'a>(key: &str, v: &toml::Value, variants: &[&'a str]) -> Result<&'a str, String> {
    v.as_str()
        .and_then(|s| {
            variants
                .iter()
                .find(|variant| variant.eq_ignore_ascii_case(s))
        })
        .copied()
        .ok_or_else(|| {
            format!(
                "`{key}` must be one of {} (in any case)",
                variants.join(", ")
            )
        })
}

impl Default for FormatConfig {
    fn default() -> Self {
        FormatConfig {
            max_width: 100,
            hard_tabs: false,
            tab_spaces: 4,
            newline_style: NewlineStyle::Auto,
            use_small_heuristics: SmallHeuristics::Default,
            fn_call_width: None,
            attr_fn_like_width: None,
            short_array_element_width_threshold: 10,
            source: None,
            notes: Vec::new(),
        }
    }
}

impl FormatConfig {
    /// Finds the settings rustfmt would use for a file in `start_dir`: the first
    /// `.rustfmt.toml` or `rustfmt.toml` in `start_dir` or a parent, up to and including
    /// `stop_at`. Without such a file, rustfmt's defaults apply.
    pub fn discover(start_dir: &Path, stop_at: &Path) -> Result<FormatConfig, FormatError> {
        let mut dir = Some(start_dir);
        while let Some(d) = dir {
            for name in [".rustfmt.toml", "rustfmt.toml"] {
                let candidate = d.join(name);
                if candidate.is_file() {
                    let text = std::fs::read_to_string(&candidate).map_err(|source| {
                        FormatError::Read {
                            path: candidate.clone(),
                            source,
                        }
                    })?;
                    let mut cfg = FormatConfig::from_toml_str(&text).map_err(|message| {
                        FormatError::Invalid {
                            path: candidate.clone(),
                            message,
                        }
                    })?;
                    for note in &mut cfg.notes {
                        *note = format!("{}: {note}", candidate.display());
                    }
                    cfg.source = Some(candidate);
                    return Ok(cfg);
                }
            }
            if d == stop_at {
                break;
            }
            dir = d.parent();
        }
        Ok(FormatConfig::default())
    }

    /// Reads settings from the text of a rustfmt.toml. Settings that cannot change a schema
    /// file are ignored.
    pub fn from_toml_str(text: &str) -> Result<FormatConfig, String> {
        let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut cfg = FormatConfig::default();
        let int = |key: &str, v: &toml::Value| -> Result<usize, String> {
            v.as_integer()
                .filter(|n| *n >= 0)
                .map(|n| n as usize)
                .ok_or_else(|| format!("`{key}` must be a non-negative integer"))
        };
        for (key, v) in &table {
            match key.as_str() {
                "max_width" => cfg.max_width = int(key, v)?,
                "tab_spaces" => cfg.tab_spaces = int(key, v)?,
                "fn_call_width" => cfg.fn_call_width = Some(int(key, v)?),
                "attr_fn_like_width" => cfg.attr_fn_like_width = Some(int(key, v)?),
                "short_array_element_width_threshold" => {
                    cfg.short_array_element_width_threshold = int(key, v)?
                }
                "hard_tabs" => {
                    cfg.hard_tabs = v.as_bool().ok_or("`hard_tabs` must be a boolean")?
                }
                "newline_style" => {
                    cfg.newline_style = match enum_value(key, v, &["Auto", "Native", "Unix", "Windows"])? {
                        "Auto" => NewlineStyle::Auto,
                        "Native" => NewlineStyle::Native,
                        "Unix" => NewlineStyle::Unix,
                        _ => NewlineStyle::Windows,
                    }
                }
                "use_small_heuristics" => {
                    cfg.use_small_heuristics = match enum_value(key, v, &["Default", "Off", "Max"])? {
                        "Default" => SmallHeuristics::Default,
                        "Off" => SmallHeuristics::Off,
                        _ => SmallHeuristics::Max,
                    }
                }
                other if UNSTABLE_LAYOUT_OPTIONS.contains(&other) => cfg.notes.push(format!(
                    "`{other}` is ignored: rustfmt ignores it on the stable channel (it is an unstable option), and `diesel print-schema` runs the stable rustfmt"
                )),
                _ => {}
            }
        }
        if cfg.tab_spaces == 0 {
            return Err("`tab_spaces` must be at least 1".into());
        }
        Ok(cfg)
    }

    /// Settings rustfmt ignores on stable that a schema file could show, with their notes.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    fn scaled(&self, percent: usize) -> usize {
        match self.use_small_heuristics {
            SmallHeuristics::Off | SmallHeuristics::Max => self.max_width,
            SmallHeuristics::Default => {
                // Limits grow with max_width above 100, by tenths.
                let ratio = if self.max_width > 100 {
                    (self.max_width as f64 / 100.0 * 10.0).round() / 10.0
                } else {
                    1.0
                };
                (percent as f64 * ratio).round() as usize
            }
        }
    }

    /// The width limit for the arguments of a function-like call.
    pub fn fn_call_width(&self) -> usize {
        self.fn_call_width
            .unwrap_or_else(|| self.scaled(60))
            .min(self.max_width)
    }

    /// The width limit for the arguments of a function-like attribute.
    pub fn attr_fn_like_width(&self) -> usize {
        self.attr_fn_like_width
            .unwrap_or_else(|| self.scaled(70))
            .min(self.max_width)
    }

    /// The whitespace for an indentation of `width` columns.
    pub fn indent_str(&self, width: usize) -> String {
        if self.hard_tabs {
            let mut s = "\t".repeat(width / self.tab_spaces);
            s.push_str(&" ".repeat(width % self.tab_spaces));
            s
        } else {
            " ".repeat(width)
        }
    }

    /// The line ending written for each line.
    pub fn newline(&self) -> &'static str {
        match self.newline_style {
            NewlineStyle::Windows => "\r\n",
            NewlineStyle::Native if cfg!(windows) => "\r\n",
            _ => "\n",
        }
    }
}

/// Builds formatted text line by line, following rustfmt's rules for schema files.
///
/// `depth` arguments count block levels (`pub mod` nesting); a level is `tab_spaces` wide.
pub struct Layout<'a> {
    cfg: &'a FormatConfig,
    lines: Vec<String>,
}

impl<'a> Layout<'a> {
    /// An empty document.
    pub fn new(cfg: &'a FormatConfig) -> Self {
        Layout {
            cfg,
            lines: Vec::new(),
        }
    }

    fn width(&self, depth: usize) -> usize {
        depth * self.cfg.tab_spaces
    }

    /// A line of code at block level `depth`.
    pub fn line(&mut self, depth: usize, text: &str) {
        let indent = self.cfg.indent_str(self.width(depth));
        self.lines.push(format!("{indent}{text}"));
    }

    /// An empty line; never two in a row, never right after an opening brace.
    pub fn blank(&mut self) {
        match self.lines.last() {
            None => {}
            Some(l) if l.is_empty() || l.ends_with('{') => {}
            Some(_) => self.lines.push(String::new()),
        }
    }

    /// Closes a block opened at `depth` with `}` (dropping a blank line before it).
    pub fn close(&mut self, depth: usize) {
        while self.lines.last().is_some_and(|l| l.is_empty()) {
            self.lines.pop();
        }
        if let Some(last) = self.lines.last_mut() {
            if last.ends_with('{') && last.trim_start().starts_with("pub mod ") {
                // An empty module collapses to `pub mod x {}`.
                last.push('}');
                return;
            }
        }
        self.line(depth, "}");
    }

    /// A line inside the body of a brace-delimited macro that rustfmt does not format.
    ///
    /// rustfmt keeps such bodies as written but re-indents them: `extra` is the line's
    /// indentation relative to the macro's closing brace, as the generator wrote it.
    pub fn macro_body_line(&mut self, depth: usize, extra: usize, text: &str) {
        if text.is_empty() {
            self.lines.push(String::new());
            return;
        }
        let indent = self.cfg.indent_str(self.width(depth) + extra);
        self.lines.push(format!("{indent}{}", text.trim()));
    }

    /// `#[derive(A, B, ..)]` at `depth`.
    pub fn derive(&mut self, depth: usize, items: &[String]) {
        let indent = self.width(depth);
        let one_line = format!("#[derive({})]", items.join(", "));
        // rustfmt keeps a derive on one line while it is at least 4 columns short of the limit.
        if indent + one_line.len() + 4 <= self.cfg.max_width {
            self.line(depth, &one_line);
            return;
        }
        self.line(depth, "#[derive(");
        let inner = indent + self.cfg.tab_spaces;
        let joined = items.join(", ");
        if inner + joined.len() <= self.cfg.max_width {
            self.line_at(inner, &format!("{joined},"));
        } else {
            for item in items {
                self.line_at(inner, &format!("{item},"));
            }
        }
        self.line(depth, ")]");
    }

    /// `#[outer(inner(arg, ..))]` at `depth`, such as `#[diesel(postgres_type(name = ".."))]`.
    pub fn nested_attr(&mut self, depth: usize, outer: &str, inner: &str, args: &[String]) {
        let indent = self.width(depth);
        let joined = args.join(", ");
        let one_line = format!("#[{outer}({inner}({joined}))]");
        let fits = indent + one_line.len() < self.cfg.max_width
            && (args.len() < 2 || joined.len() <= self.cfg.attr_fn_like_width());
        if fits {
            self.line(depth, &one_line);
            return;
        }
        self.line(depth, &format!("#[{outer}({inner}("));
        let last = args.len().saturating_sub(1);
        for (i, a) in args.iter().enumerate() {
            let sep = if i == last { "" } else { "," };
            self.line_at(indent + self.cfg.tab_spaces, &format!("{a}{sep}"));
        }
        self.line(depth, "))]");
    }

    /// `path!(a, b, ..,);` — a function-like macro whose arguments end with a comma.
    pub fn call_list(&mut self, depth: usize, path: &str, items: &[String]) {
        let indent = self.width(depth);
        let joined = items.join(", ");
        // rustfmt measures the list without the trailing comma it then keeps.
        let horizontal = joined.len() <= self.cfg.fn_call_width()
            && indent + path.len() + 1 + joined.len() + 2 <= self.cfg.max_width;
        if horizontal {
            self.line(depth, &format!("{path}({joined},);"));
        } else if items
            .iter()
            .all(|i| i.len() <= self.cfg.short_array_element_width_threshold)
        {
            // Short simple arguments are packed several to a line.
            self.line(depth, &format!("{path}("));
            let inner = indent + self.cfg.tab_spaces;
            let mut current = String::new();
            for item in items {
                let candidate = if current.is_empty() {
                    format!("{item},")
                } else {
                    format!("{current} {item},")
                };
                if !current.is_empty() && inner + candidate.len() > self.cfg.max_width - 1 {
                    self.line_at(inner, &current);
                    current = format!("{item},");
                } else {
                    current = candidate;
                }
            }
            self.line_at(inner, &current);
            self.line(depth, ");");
        } else {
            self.line(depth, &format!("{path}("));
            for item in items {
                self.line(depth + 1, &format!("{item},"));
            }
            self.line(depth, ");");
        }
    }

    fn line_at(&mut self, width: usize, text: &str) {
        let indent = self.cfg.indent_str(width);
        self.lines.push(format!("{indent}{text}"));
    }

    /// The finished text: trailing blank lines dropped, one final line ending, and the
    /// configured line endings.
    pub fn finish(mut self) -> String {
        while self.lines.last().is_some_and(|l| l.is_empty()) {
            self.lines.pop();
        }
        let nl = self.cfg.newline();
        let mut out = String::new();
        for l in &self.lines {
            out.push_str(l);
            out.push_str(nl);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_relevant_settings() {
        let cfg = FormatConfig::from_toml_str(
            "tab_spaces = 2\nhard_tabs = true\nmax_width = 80\nnewline_style = \"Windows\"\nedition = \"2021\"\n",
        )
        .unwrap();
        assert_eq!(cfg.tab_spaces, 2);
        assert!(cfg.hard_tabs);
        assert_eq!(cfg.max_width, 80);
        assert_eq!(cfg.newline(), "\r\n");
        assert!(FormatConfig::from_toml_str("tab_spaces = \"x\"").is_err());
    }

    #[test]
    fn enum_values_in_any_case_and_unstable_options_noted() {
        let cfg = FormatConfig::from_toml_str(
            "use_small_heuristics = \"default\"\nnewline_style = \"unix\"\n",
        )
        .unwrap();
        assert_eq!(cfg.use_small_heuristics, SmallHeuristics::Default);
        assert_eq!(cfg.newline_style, NewlineStyle::Unix);
        assert_eq!(
            FormatConfig::from_toml_str("use_small_heuristics = \"MAX\"")
                .unwrap()
                .use_small_heuristics,
            SmallHeuristics::Max
        );
        let err = FormatConfig::from_toml_str("use_small_heuristics = \"small\"").unwrap_err();
        assert!(err.contains("Default, Off, Max"), "{err}");
        // An unstable option is ignored, as rustfmt on stable ignores it, with a note.
        let cfg = FormatConfig::from_toml_str("brace_style = \"AlwaysNextLine\"\nmax_width = 90\n")
            .unwrap();
        assert_eq!(cfg.max_width, 90);
        assert_eq!(cfg.notes().len(), 1);
        assert!(
            cfg.notes()[0].contains("`brace_style` is ignored"),
            "{:?}",
            cfg.notes
        );
    }

    #[test]
    fn discover_prefers_dot_file_and_stops() {
        let root = std::env::temp_dir().join(format!("cm_fmt_discover_{}", std::process::id()));
        let sub = root.join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(root.join("a/rustfmt.toml"), "tab_spaces = 2\n").unwrap();
        std::fs::write(root.join("a/.rustfmt.toml"), "tab_spaces = 3\n").unwrap();
        let cfg = FormatConfig::discover(&sub, &root).unwrap();
        assert_eq!(cfg.tab_spaces, 3);
        let none = FormatConfig::discover(&sub, &sub).unwrap();
        assert_eq!(none, FormatConfig::default());
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn tab_spaces_two_and_hard_tabs_indent() {
        let two = FormatConfig {
            tab_spaces: 2,
            ..FormatConfig::default()
        };
        let mut l = Layout::new(&two);
        l.line(0, "pub mod m {");
        l.line(1, "diesel::table! {");
        l.macro_body_line(1, 4, "users (id) {");
        l.macro_body_line(1, 8, "id -> Int4,");
        l.macro_body_line(1, 4, "}");
        l.line(1, "}");
        l.close(0);
        assert_eq!(
            l.finish(),
            "pub mod m {\n  diesel::table! {\n      users (id) {\n          id -> Int4,\n      }\n  }\n}\n"
        );

        let tabs = FormatConfig {
            hard_tabs: true,
            ..FormatConfig::default()
        };
        let mut l = Layout::new(&tabs);
        l.line(1, "diesel::table! {");
        l.macro_body_line(1, 8, "id -> Int4,");
        l.macro_body_line(1, 6, "odd,");
        assert_eq!(
            l.finish(),
            "\tdiesel::table! {\n\t\t\tid -> Int4,\n\t\t  odd,\n"
        );
    }

    #[test]
    fn long_lists_break_like_rustfmt() {
        let cfg = FormatConfig::default();
        let mut l = Layout::new(&cfg);
        l.call_list(
            0,
            "diesel::allow_tables_to_appear_in_same_query!",
            &["a".into(), "b".into()],
        );
        let names: Vec<String> = (0..8).map(|i| format!("table_number_{i}")).collect();
        let short: Vec<String> = (0..12).map(|i| format!("table_{i}")).collect();
        l.call_list(0, "diesel::allow_tables_to_appear_in_same_query!", &short);
        l.call_list(0, "diesel::allow_tables_to_appear_in_same_query!", &names);
        let out = l.finish();
        assert!(out.starts_with("diesel::allow_tables_to_appear_in_same_query!(a, b,);\n"));
        assert!(out.contains("(\n    table_number_0,\n"));
        assert!(out.contains("(\n    table_0, table_1, table_2, table_3, table_4, table_5, table_6, table_7, table_8, table_9,\n    table_10, table_11,\n);\n"));

        let mut l = Layout::new(&cfg);
        let derives: Vec<String> = [
            "diesel::query_builder::QueryId",
            "Clone",
            "std::fmt::Debug",
            "diesel::sql_types::SqlType",
            "Eq",
            "Hash",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        l.derive(1, &derives);
        assert_eq!(
            l.finish(),
            "    #[derive(\n        diesel::query_builder::QueryId, Clone, std::fmt::Debug, diesel::sql_types::SqlType, Eq, Hash,\n    )]\n"
        );
    }
}
