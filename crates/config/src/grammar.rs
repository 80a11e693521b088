//! A table-driven command grammar: the engine behind parsing, `?` help and tab completion.
//!
//! A command is a pattern of [`Token`]s — keywords and typed parameters — plus an action value
//! the caller chooses. The same tables drive [`match_line`] (parse one line), [`help`] (what may
//! come next, for `?`) and [`complete`] (tab completion), so the three never disagree. Adding a
//! command (an `ip access-list` line, a `show interface` form) is adding one table row.
//!
//! Matching follows NX-OS: keywords are case-insensitive and may be abbreviated to any
//! unambiguous prefix (`conf t`, `sh run`); a keyword beats a parameter at the same position;
//! `no` in front selects a command's negative form. Tables are tried in order, and the first
//! complete match wins, so a caller lists its preferred table (say, the current sub-mode) first.

use std::fmt;

use std::net::IpAddr;

use crate::acl::{Ace, Action, Family};
use crate::model::{VLAN_MAX, VLAN_MIN};
use crate::vlan_set::VlanSet;

/// One position in a command pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token {
    /// A literal word, matched case-insensitively and by unambiguous prefix.
    Keyword { word: &'static str, help: &'static str },
    /// A typed value the user supplies.
    Param { param: Param, help: &'static str },
}

/// A keyword token (for building tables in `const` context).
pub const fn kw(word: &'static str, help: &'static str) -> Token {
    Token::Keyword { word, help }
}

/// A parameter token (for building tables in `const` context).
pub const fn param(param: Param, help: &'static str) -> Token {
    Token::Param { param, help }
}

/// The kinds of value a parameter accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// One VLAN id 1–4094.
    VlanId,
    /// VLAN ids in range form: `1-5,7,100-109`.
    VlanRanges,
    /// A decimal number within `min..=max`.
    Number { min: u32, max: u32 },
    /// One word of printable ASCII (no spaces, no `?`), at most `max` characters.
    Name { max: usize },
    /// The rest of the line (trailing spaces dropped), at most `max` characters.
    Text { max: usize },
    /// An interface position `M/K` (module 1–`max_module`, port 1–`max_port`), e.g. `3/1`.
    ModulePort { max_module: u32, max_port: u32 },
    /// A password or its hash: like [`Param::Name`], but never repeated in an error message.
    Secret { max: usize },
    /// The rest of the line as an access-list entry after `permit`/`deny` in a list of
    /// `family` ([`crate::ace::parse_ace`]).
    Ace { family: Family, action: Action },
    /// An IPv4 or IPv6 address.
    Address,
    /// An IPv4 address `A.B.C.D`.
    Ipv4,
    /// An IPv4 prefix `A.B.C.D/LEN`; host bits must be zero.
    Ipv4Prefix,
}

/// A parsed parameter value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// From [`Param::VlanId`] or [`Param::Number`].
    Number(u32),
    /// From [`Param::VlanRanges`].
    Vlans(VlanSet),
    /// From [`Param::Name`].
    Word(String),
    /// From [`Param::Text`].
    Text(String),
    /// From [`Param::ModulePort`].
    ModulePort { module: u32, port: u32 },
    /// From [`Param::Secret`].
    Secret(SecretWord),
    /// From [`Param::Ace`].
    Ace(Box<Ace>),
    /// From [`Param::Address`] or [`Param::Ipv4`].
    Address(IpAddr),
    /// From [`Param::Ipv4Prefix`].
    Ipv4Prefix(crate::ip_pool::Ipv4Network),
}

/// A word that must not be shown (a password): `Debug` prints `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretWord(pub String);

impl fmt::Debug for SecretWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A parameter value and the 1-based column where it starts (for error messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    pub value: Value,
    pub column: usize,
}

/// Why a word is not a valid value for a parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reject {
    /// Character offset inside the word of the bad part (a range list points at the bad piece).
    offset: usize,
    message: String,
    /// What would have been accepted there; `None`: what the parameter accepts.
    expected: Option<Vec<String>>,
}

impl Param {
    /// How the parameter shows in `?` help: `<1-4094>`, `<1-1024>`, `WORD`, `LINE`, `<1-66>/<1-32>`.
    pub fn syntax(&self) -> String {
        match self {
            Self::VlanId | Self::VlanRanges => format!("<{VLAN_MIN}-{VLAN_MAX}>"),
            Self::Number { min, max } => format!("<{min}-{max}>"),
            Self::Name { .. } | Self::Secret { .. } => "WORD".to_string(),
            Self::Text { .. } => "LINE".to_string(),
            Self::ModulePort { max_module, max_port } => format!("<1-{max_module}>/<1-{max_port}>"),
            Self::Ace { family: Family::Ipv4, .. } => "ip|tcp|udp|icmp|<0-255>".to_string(),
            Self::Ace { family: Family::Ipv6, .. } => "ipv6|tcp|udp|icmp|<0-255>".to_string(),
            Self::Address => "A.B.C.D|X:X::X".to_string(),
            Self::Ipv4 => "A.B.C.D".to_string(),
            Self::Ipv4Prefix => "A.B.C.D/LEN".to_string(),
        }
    }

    /// What the parameter accepts, for "expected …" in error messages.
    pub fn describe(&self) -> String {
        match self {
            Self::VlanId => format!("a number {VLAN_MIN}-{VLAN_MAX}"),
            Self::VlanRanges => {
                format!("VLAN ids {VLAN_MIN}-{VLAN_MAX} as ranges like 1-5,7,100-109")
            }
            Self::Number { min, max } => format!("a number {min}-{max}"),
            Self::Name { max } => format!("a name of 1-{max} characters"),
            Self::Text { max } => format!("text of 1-{max} characters"),
            Self::Secret { max } => {
                format!("a password of 1-{max} printable characters, without spaces or '?'")
            }
            Self::ModulePort { max_module, max_port } => {
                format!("module/port like 3/1 (module 1-{max_module}, port 1-{max_port})")
            }
            Self::Ace { .. } => "a protocol, then source and destination".to_string(),
            Self::Address => "an IPv4 or IPv6 address".to_string(),
            Self::Ipv4 => "an IPv4 address A.B.C.D".to_string(),
            Self::Ipv4Prefix => "an IPv4 network A.B.C.D/LEN (LEN 8-30, host bits zero)".to_string(),
        }
    }

    /// Whether the parameter takes numbers (so a word starting with a digit was meant for it).
    fn is_numeric(&self) -> bool {
        matches!(
            self,
            Self::VlanId
                | Self::VlanRanges
                | Self::Number { .. }
                | Self::ModulePort { .. }
                | Self::Address
                | Self::Ipv4
                | Self::Ipv4Prefix
        )
    }

    fn accept(&self, word: &str) -> Result<Value, Reject> {
        let whole = |message: String| Reject { offset: 0, message, expected: None };
        match self {
            Self::VlanId => match parse_number(word) {
                Some(n) if (u32::from(VLAN_MIN)..=u32::from(VLAN_MAX)).contains(&n) => Ok(Value::Number(n)),
                _ => Err(whole(format!("invalid VLAN id '{word}'"))),
            },
            Self::Number { min, max } => match parse_number(word) {
                Some(n) if (*min..=*max).contains(&n) => Ok(Value::Number(n)),
                _ => Err(whole(format!("invalid number '{word}'"))),
            },
            Self::VlanRanges => {
                // `all`/`none` are keywords where a command takes them, never a range list.
                if !word.starts_with(|c: char| c.is_ascii_digit()) {
                    return Err(whole(format!("invalid VLAN range '{word}'")));
                }
                word.parse::<VlanSet>().map(Value::Vlans).map_err(|e| {
                    let offset = e.offset();
                    let rest = &word[offset.min(word.len())..];
                    let piece = rest.split([',', '-']).next().unwrap_or(rest);
                    let message = match e {
                        crate::vlan_set::VlanSetError::Backwards { text, .. } => {
                            format!("VLAN range '{text}' runs backwards")
                        }
                        _ if piece.is_empty() => format!("invalid VLAN range '{word}'"),
                        _ => format!("invalid VLAN id '{piece}'"),
                    };
                    Reject { offset: word[..offset.min(word.len())].chars().count(), message, expected: None }
                })
            }
            Self::Name { max } => {
                if is_name(word, *max) {
                    Ok(Value::Word(word.to_string()))
                } else {
                    Err(whole(format!("invalid name '{word}'")))
                }
            }
            Self::Text { max } => {
                if is_text(word, *max) {
                    Ok(Value::Text(word.to_string()))
                } else {
                    Err(whole(format!("invalid text '{word}'")))
                }
            }
            Self::ModulePort { max_module, max_port } => accept_module_port(word, *max_module, *max_port),
            Self::Secret { max } => {
                if is_name(word, *max) {
                    Ok(Value::Secret(SecretWord(word.to_string())))
                } else {
                    // The word may be (most of) a password: never repeat it.
                    Err(whole("invalid password".to_string()))
                }
            }
            Self::Ace { family, action } => crate::ace::parse_ace(*family, *action, word)
                .map(|ace| Value::Ace(Box::new(ace)))
                .map_err(|e| Reject { offset: e.offset, message: e.message, expected: Some(e.expected) }),
            Self::Address => {
                word.parse().map(Value::Address).map_err(|_| whole(format!("invalid address '{word}'")))
            }
            Self::Ipv4 => word
                .parse::<std::net::Ipv4Addr>()
                .map(|a| Value::Address(IpAddr::V4(a)))
                .map_err(|_| whole(format!("invalid IPv4 address '{word}'"))),
            Self::Ipv4Prefix => word
                .parse()
                .map(Value::Ipv4Prefix)
                .map_err(|e: crate::ip_pool::NetworkError| whole(e.to_string())),
        }
    }
}

/// `M/K`: the error points at the part that is wrong (the module, or the port after `/`).
fn accept_module_port(word: &str, max_module: u32, max_port: u32) -> Result<Value, Reject> {
    let Some((module, port)) = word.split_once('/') else {
        return Err(Reject { offset: 0, message: format!("invalid interface '{word}'"), expected: None });
    };
    let module = match parse_number(module) {
        Some(n) if (1..=max_module).contains(&n) => n,
        _ => {
            return Err(Reject { offset: 0, message: format!("invalid module '{module}'"), expected: None });
        }
    };
    let offset = word.len() - port.len();
    match parse_number(port) {
        Some(port) if (1..=max_port).contains(&port) => Ok(Value::ModulePort { module, port }),
        _ => Err(Reject { offset, message: format!("invalid port '{port}'"), expected: None }),
    }
}

/// A decimal number with only ASCII digits (no sign); `None` when it is not one or overflows.
fn parse_number(word: &str) -> Option<u32> {
    if word.is_empty() || !word.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    word.parse().ok()
}

/// The rule for names (port-profiles, VLAN names): 1–`max` printable ASCII characters, no
/// spaces and no `?` (which asks for help in the shell).
pub fn is_name(word: &str, max: usize) -> bool {
    !word.is_empty() && word.len() <= max && word.bytes().all(|b| b.is_ascii_graphic() && b != b'?')
}

/// The rule for free text (descriptions): 1–`max` characters, no control characters, no
/// leading or trailing whitespace (the text form could not carry them).
pub fn is_text(text: &str, max: usize) -> bool {
    !text.is_empty()
        && text.chars().count() <= max
        && !text.chars().any(char::is_control)
        && text.trim() == text
}

/// One command: its pattern, the caller's action, and its `no` form.
#[derive(Debug, Clone, Copy)]
pub struct Command<A: 'static> {
    pub pattern: &'static [Token],
    pub action: A,
    /// `Some(n)`: the command has a `no` form needing the first `n` tokens, the rest optional
    /// (`no switchport access vlan` drops the VLAN id). `None`: `no` is not accepted.
    pub no_form: Option<usize>,
    /// The command may be given without `no` (false only for [`no_only`] commands).
    pub affirmative: bool,
}

/// A command with a `no` form that needs the first `no_len` tokens.
pub const fn negatable<A>(pattern: &'static [Token], action: A, no_len: usize) -> Command<A> {
    Command { pattern, action, no_form: Some(no_len), affirmative: true }
}

/// A command that exists only in its `no` form, every token required (`no port-profile NAME
/// force`).
pub const fn no_only<A>(pattern: &'static [Token], action: A) -> Command<A> {
    Command { pattern, action, no_form: Some(pattern.len()), affirmative: false }
}

/// A command without a `no` form.
pub const fn plain<A>(pattern: &'static [Token], action: A) -> Command<A> {
    Command { pattern, action, no_form: None, affirmative: true }
}

/// A successfully matched line.
#[derive(Debug, Clone)]
pub struct Matched<'t, A: 'static> {
    pub command: &'t Command<A>,
    /// Index of the table (in the slice given to [`match_line`]) the command came from.
    pub table: usize,
    /// The line started with `no`.
    pub negated: bool,
    /// Parameter values in pattern order (a `no` form may have fewer).
    pub args: Vec<Arg>,
    /// Column of the line's first word.
    pub column: usize,
}

/// The three ways a line fails to match, as NX-OS names them under its caret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchErrorKind {
    /// A word matches nothing (`% Invalid command at '^' marker.`).
    Invalid,
    /// The line ends before the command is complete (`% Incomplete command`).
    Incomplete,
    /// An abbreviation matches several keywords (`% Ambiguous command`).
    Ambiguous,
}

/// Why a line did not match, with the 1-based column of the first word that did not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchError {
    pub kind: MatchErrorKind,
    pub column: usize,
    pub message: String,
    pub expected: Vec<String>,
}

impl fmt::Display for MatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)?;
        if !self.expected.is_empty() {
            write!(f, ": expected {}", crate::error::alternatives(&self.expected))?;
        }
        Ok(())
    }
}

/// A `?` help or completion entry: the word (or `<1-4094>`, `WORD`, `<cr>`) and what it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub word: String,
    pub help: String,
}

/// One whitespace-separated word of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word<'a> {
    pub text: &'a str,
    /// Byte offset in the line.
    pub start: usize,
    /// 1-based column in characters.
    pub column: usize,
}

/// Splits a line into words, remembering where each starts.
pub fn split_words(line: &str) -> Vec<Word<'_>> {
    let mut words = Vec::new();
    let mut current: Option<(usize, usize)> = None;
    for (column, (byte, c)) in line.char_indices().enumerate() {
        match (c.is_whitespace(), current) {
            (false, None) => current = Some((byte, column + 1)),
            (true, Some((start, col))) => {
                words.push(Word { text: &line[start..byte], start, column: col });
                current = None;
            }
            _ => {}
        }
    }
    if let Some((start, column)) = current {
        words.push(Word { text: &line[start..], start, column });
    }
    words
}

/// The word that selects a command's negative form.
const NO: &str = "no";
const NO_HELP: &str = "Negate a command or set its defaults";

/// A command still in the running while a line is walked.
#[derive(Debug, Clone)]
struct Alive<'t, A: 'static> {
    table: usize,
    index: usize,
    command: &'t Command<A>,
    /// Pattern tokens matched so far.
    consumed: usize,
    args: Vec<Arg>,
    /// A text parameter took the rest of the line.
    done: bool,
}

impl<A> Alive<'_, A> {
    fn next_token(&self) -> Option<&Token> {
        if self.done { None } else { self.command.pattern.get(self.consumed) }
    }

    fn is_complete(&self, negated: bool) -> bool {
        if self.done || self.consumed == self.command.pattern.len() {
            return true;
        }
        negated && self.command.no_form.is_some_and(|n| self.consumed >= n)
    }
}

/// The state after walking some words: the surviving commands and whether `no` was seen.
#[derive(Debug)]
struct Walk<'t, A: 'static> {
    alive: Vec<Alive<'t, A>>,
    negated: bool,
}

fn start<'t, A>(tables: &[&'t [Command<A>]], negated: bool) -> Vec<Alive<'t, A>> {
    tables
        .iter()
        .enumerate()
        .flat_map(|(table, commands)| {
            commands.iter().enumerate().map(move |(index, command)| Alive {
                table,
                index,
                command,
                consumed: 0,
                args: Vec::new(),
                done: false,
            })
        })
        .filter(|a| if negated { a.command.no_form.is_some() } else { a.command.affirmative })
        .collect()
}

fn any_negatable<A>(tables: &[&[Command<A>]]) -> bool {
    tables.iter().any(|t| t.iter().any(|c| c.no_form.is_some()))
}

/// Walks `words` of `line` through the tables; fails at the first word nothing accepts.
fn walk<'t, A>(
    tables: &[&'t [Command<A>]],
    line: &str,
    words: &[Word<'_>],
) -> Result<Walk<'t, A>, MatchError> {
    let negated = words.first().is_some_and(|w| w.text.eq_ignore_ascii_case(NO) && any_negatable(tables));
    let words = if negated { &words[1..] } else { words };
    let mut alive = start(tables, negated);
    for word in words {
        alive = step(alive, line, word)?;
    }
    Ok(Walk { alive, negated })
}

/// Advances every surviving command by one word.
fn step<'t, A>(
    alive: Vec<Alive<'t, A>>,
    line: &str,
    word: &Word<'_>,
) -> Result<Vec<Alive<'t, A>>, MatchError> {
    let lower = word.text.to_ascii_lowercase();
    let mut done = Vec::new();
    let mut exact = Vec::new();
    let mut prefix = Vec::new();
    let mut params = Vec::new();
    let mut rejects: Vec<(Param, Reject)> = Vec::new();
    // Only needed for an error message; strings are built then.
    let mut seen: Vec<Token> = Vec::new();
    for mut a in alive {
        if a.done {
            done.push(a);
            continue;
        }
        let Some(token) = a.next_token().copied() else {
            continue;
        };
        seen.push(token);
        match token {
            Token::Keyword { word: k, .. } => {
                if k == lower {
                    a.consumed += 1;
                    exact.push(a);
                } else if k.starts_with(&lower) {
                    a.consumed += 1;
                    prefix.push((k, a));
                }
            }
            Token::Param { param, .. } => {
                let rest_of_line = matches!(param, Param::Text { .. } | Param::Ace { .. });
                let text = if rest_of_line { line[word.start..].trim_end() } else { word.text };
                match param.accept(text) {
                    Ok(value) => {
                        a.args.push(Arg { value, column: word.column });
                        a.consumed += 1;
                        a.done = rest_of_line;
                        params.push(a);
                    }
                    Err(reject) => rejects.push((param, reject)),
                }
            }
        }
    }
    let mut next = if !exact.is_empty() {
        exact
    } else if !prefix.is_empty() {
        let mut keywords: Vec<String> = Vec::new();
        for (k, _) in &prefix {
            push_unique(&mut keywords, k.to_string());
        }
        if keywords.len() > 1 {
            return Err(MatchError {
                kind: MatchErrorKind::Ambiguous,
                column: word.column,
                message: format!("ambiguous word '{}'", word.text),
                expected: keywords,
            });
        }
        prefix.into_iter().map(|(_, a)| a).collect()
    } else {
        params
    };
    if next.is_empty() && done.is_empty() {
        return Err(reject_error(word, rejects, &seen));
    }
    next.extend(done);
    Ok(next)
}

/// The error for a word no command accepted: a parameter's own reason when the word was
/// clearly meant for it (`vlan 5000`), else "invalid word" with the alternatives.
fn reject_error(word: &Word<'_>, rejects: Vec<(Param, Reject)>, seen: &[Token]) -> MatchError {
    // A word a secret parameter refused may be a password: its own reason, which does not quote
    // it, wins over "invalid word '…'".
    if let Some((param, reject)) = rejects.iter().find(|(param, _)| matches!(param, Param::Secret { .. })) {
        return MatchError {
            kind: MatchErrorKind::Invalid,
            column: word.column,
            message: reject.message.clone(),
            expected: vec![param.describe()],
        };
    }
    if seen.is_empty() {
        return MatchError {
            kind: MatchErrorKind::Invalid,
            column: word.column,
            message: format!("unexpected '{}' after a complete command", word.text),
            expected: Vec::new(),
        };
    }
    let any_keyword = seen.iter().any(|t| matches!(t, Token::Keyword { .. }));
    let looks_numeric = word.text.starts_with(|c: char| c.is_ascii_digit());
    let meant = rejects.into_iter().find(|(param, _)| !any_keyword || (looks_numeric && param.is_numeric()));
    match meant {
        Some((param, reject)) => MatchError {
            kind: MatchErrorKind::Invalid,
            column: word.column + reject.offset,
            message: reject.message,
            expected: reject.expected.unwrap_or_else(|| vec![param.describe()]),
        },
        None => MatchError {
            kind: MatchErrorKind::Invalid,
            column: word.column,
            message: format!("invalid word '{}'", word.text),
            expected: describe_all(seen),
        },
    }
}

/// "expected …" entries for tokens: keywords as themselves, parameters described.
fn describe_all(tokens: &[Token]) -> Vec<String> {
    let mut out = Vec::new();
    for token in tokens {
        match token {
            Token::Keyword { word, .. } => push_unique(&mut out, word.to_string()),
            Token::Param { param, .. } => push_unique(&mut out, param.describe()),
        }
    }
    out
}

fn push_unique(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// Matches one line against the tables (in preference order).
pub fn match_line<'t, A>(tables: &[&'t [Command<A>]], line: &str) -> Result<Matched<'t, A>, MatchError> {
    let words = split_words(line);
    let Some(first) = words.first() else {
        return Err(MatchError {
            kind: MatchErrorKind::Incomplete,
            column: 1,
            message: "empty command".to_string(),
            expected: next_descriptions(&start(tables, false), false, tables),
        });
    };
    let Walk { alive, negated } = walk(tables, line, &words)?;
    let best = alive.iter().filter(|a| a.is_complete(negated)).min_by_key(|a| (a.table, a.index));
    match best {
        Some(a) => Ok(Matched {
            command: a.command,
            table: a.table,
            negated,
            args: a.args.clone(),
            column: first.column,
        }),
        None => {
            let last = words.last().unwrap_or(first);
            Err(MatchError {
                kind: MatchErrorKind::Incomplete,
                column: last.column + last.text.chars().count() + 1,
                message: "incomplete command".to_string(),
                expected: next_descriptions(&alive, negated && words.len() == 1, tables),
            })
        }
    }
}

fn next_descriptions<A>(alive: &[Alive<'_, A>], at_start: bool, tables: &[&[Command<A>]]) -> Vec<String> {
    let tokens: Vec<Token> = alive.iter().filter_map(|a| a.next_token().copied()).collect();
    let mut out = describe_all(&tokens);
    if at_start && any_negatable(tables) {
        push_unique(&mut out, NO.to_string());
    }
    out
}

/// What may come next, for `?` help.
///
/// If `line` ends in whitespace (or is empty) lists every token that may follow, plus `<cr>` when
/// the line is already a complete command; otherwise lists the keywords starting with the last,
/// partial word (and parameters that accept it). Empty when the line is already invalid.
pub fn help<A>(tables: &[&[Command<A>]], line: &str) -> Vec<Candidate> {
    let Some((partial, walk)) = prepare(tables, line) else {
        return Vec::new();
    };
    let mut out: Vec<Candidate> = Vec::new();
    let mut add = |word: String, help: &str| {
        if !out.iter().any(|c| c.word == word) {
            out.push(Candidate { word, help: help.to_string() });
        }
    };
    let lower = partial.to_ascii_lowercase();
    let at_start = walk.alive.iter().all(|a| a.consumed == 0) && !walk.negated;
    if at_start && NO.starts_with(&lower) && any_negatable(tables) {
        add(NO.to_string(), NO_HELP);
    }
    for a in &walk.alive {
        match a.next_token() {
            Some(Token::Keyword { word, help }) if word.starts_with(&lower) => {
                add(word.to_string(), help);
            }
            Some(Token::Param { param, help }) if partial.is_empty() || param.accept(partial).is_ok() => {
                add(param.syntax(), help);
            }
            _ => {}
        }
    }
    if partial.is_empty() && walk.alive.iter().any(|a| a.is_complete(walk.negated)) {
        add("<cr>".to_string(), "");
    }
    out
}

/// Tab completion: the keywords that complete the word under the cursor (`pos` is a byte offset
/// in `line`). Returns the byte offset where that word starts and the candidates; parameters are
/// not offered (there is nothing to insert for `<1-4094>`).
pub fn complete<A>(tables: &[&[Command<A>]], line: &str, pos: usize) -> (usize, Vec<Candidate>) {
    let pos = clamp_to_char_boundary(line, pos);
    let before = &line[..pos];
    let start = before
        .rfind(char::is_whitespace)
        .map_or(0, |i| i + before[i..].chars().next().map_or(1, char::len_utf8));
    let candidates = help(tables, before)
        .into_iter()
        .filter(|c| !c.word.starts_with('<') && c.word != "WORD" && c.word != "LINE")
        .collect();
    (start, candidates)
}

fn clamp_to_char_boundary(line: &str, pos: usize) -> usize {
    let mut pos = pos.min(line.len());
    while !line.is_char_boundary(pos) {
        pos -= 1;
    }
    pos
}

/// Splits `line` into the complete words (walked) and the partial last word.
fn prepare<'t, 'l, A>(tables: &[&'t [Command<A>]], line: &'l str) -> Option<(&'l str, Walk<'t, A>)> {
    let words = split_words(line);
    let ends_in_space = line.is_empty() || line.ends_with(char::is_whitespace);
    let (complete_words, partial) = match words.split_last() {
        Some((last, init)) if !ends_in_space => (init, last.text),
        _ => (&words[..], ""),
    };
    // A text parameter swallows everything; help after it only offers <cr>.
    let walk = walk(tables, line, complete_words).ok()?;
    Some((partial, walk))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const VLAN: Token = kw("vlan", "VLAN commands");
    static TABLE: &[Command<u8>] = &[
        negatable(&[VLAN, param(Param::VlanRanges, "VLAN ids")], 1, 2),
        negatable(
            &[
                kw("switchport", "Switchport commands"),
                kw("access", "Access mode"),
                VLAN,
                param(Param::VlanId, "VLAN id"),
            ],
            2,
            3,
        ),
        plain(
            &[
                kw("switchport", "Switchport commands"),
                kw("trunk", "Trunk mode"),
                kw("allowed", "Allowed VLANs"),
                VLAN,
                kw("add", "Add VLANs"),
                param(Param::VlanRanges, "VLAN ids"),
            ],
            3,
        ),
        negatable(&[kw("description", "Describe"), param(Param::Text { max: 80 }, "text")], 4, 1),
        negatable(&[kw("shutdown", "Shut down")], 5, 1),
        plain(&[kw("state", "State"), kw("enabled", "Enabled")], 6),
    ];

    fn m(line: &str) -> Result<(u8, bool, Vec<Value>), MatchError> {
        match_line(&[TABLE], line)
            .map(|m| (m.command.action, m.negated, m.args.into_iter().map(|a| a.value).collect()))
    }

    #[test]
    fn splits_words_with_columns() {
        let w = split_words("  ab  cd");
        assert_eq!(w.len(), 2);
        assert_eq!((w[0].text, w[0].column, w[0].start), ("ab", 3, 2));
        assert_eq!((w[1].text, w[1].column), ("cd", 7));
        let w = split_words("é x");
        assert_eq!((w[1].column, w[1].start), (3, 3));
    }

    #[test]
    fn matches_keywords_params_and_abbreviations() {
        assert_eq!(m("switchport access vlan 100").unwrap().0, 2);
        assert_eq!(m("SW acc vl 100").unwrap(), (2, false, vec![Value::Number(100)]));
        assert_eq!(m("vlan 1-3").unwrap().2, vec![Value::Vlans(VlanSet::range(1, 3))]);
        assert_eq!(m("shut").unwrap(), (5, false, vec![]));
    }

    #[test]
    fn no_forms_may_drop_trailing_tokens() {
        assert_eq!(m("no switchport access vlan").unwrap(), (2, true, vec![]));
        assert_eq!(m("no shutdown").unwrap(), (5, true, vec![]));
        assert_eq!(m("no description").unwrap(), (4, true, vec![]));
        let e = m("no state enabled").unwrap_err();
        assert_eq!((e.kind, e.column), (MatchErrorKind::Invalid, 4));
        let e = m("no vlan").unwrap_err();
        assert_eq!(e.kind, MatchErrorKind::Incomplete);
    }

    #[test]
    fn text_takes_the_rest_of_the_line() {
        assert_eq!(m("description web tier  no 1  ").unwrap().2, vec![Value::Text("web tier  no 1".into())]);
    }

    #[test]
    fn errors_point_at_the_first_bad_word() {
        let e = m("switchport access vlan 5000").unwrap_err();
        assert_eq!(e.column, 24);
        assert_eq!(e.message, "invalid VLAN id '5000'");
        assert_eq!(e.expected, vec!["a number 1-4094"]);
        let e = m("vlan 1-3,9999").unwrap_err();
        assert_eq!((e.column, e.message.as_str()), (10, "invalid VLAN id '9999'"));
        let e = m("switchport bogus").unwrap_err();
        assert_eq!((e.kind, e.column), (MatchErrorKind::Invalid, 12));
        assert_eq!(e.expected, vec!["access", "trunk"]);
        let e = m("s").unwrap_err();
        assert_eq!(e.kind, MatchErrorKind::Ambiguous);
        let e = m("switchport access").unwrap_err();
        assert_eq!((e.kind, e.column), (MatchErrorKind::Incomplete, 19));
        assert_eq!(e.expected, vec!["vlan"]);
        let e = m("shutdown now").unwrap_err();
        assert_eq!(e.column, 10);
        assert!(e.message.contains("after a complete command"));
    }

    #[test]
    fn module_port_values() {
        static ETH: &[Command<u8>] = &[plain(
            &[kw("ethernet", "Ethernet"), param(Param::ModulePort { max_module: 66, max_port: 32 }, "M/K")],
            1,
        )];
        let parse = |line: &str| match_line(&[ETH], line).map(|m| m.args[0].value.clone());
        assert_eq!(parse("eth 3/1"), Ok(Value::ModulePort { module: 3, port: 1 }));
        assert_eq!(parse("ethernet 66/32"), Ok(Value::ModulePort { module: 66, port: 32 }));
        let e = parse("eth 3/33").unwrap_err();
        assert_eq!((e.column, e.message.as_str()), (7, "invalid port '33'"));
        assert_eq!(e.expected, vec!["module/port like 3/1 (module 1-66, port 1-32)"]);
        let e = parse("eth 0/1").unwrap_err();
        assert_eq!((e.column, e.message.as_str()), (5, "invalid module '0'"));
        for bad in ["eth 3", "eth 3/", "eth /1", "eth 3/1/1", "eth 3/x", "eth +3/1"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(help(&[ETH], "ethernet ")[0].word, "<1-66>/<1-32>");
    }

    #[test]
    fn help_lists_next_tokens() {
        let words = |line: &str| help(&[TABLE], line).into_iter().map(|c| c.word).collect::<Vec<_>>();
        assert_eq!(words(""), vec!["no", "vlan", "switchport", "description", "shutdown", "state"]);
        assert_eq!(words("s"), vec!["switchport", "shutdown", "state"]);
        assert_eq!(words("switchport access vlan "), vec!["<1-4094>"]);
        assert_eq!(words("shutdown "), vec!["<cr>"]);
        assert_eq!(words("no switchport access vlan "), vec!["<1-4094>", "<cr>"]);
        assert_eq!(words("no "), vec!["vlan", "switchport", "description", "shutdown"]);
        assert!(words("bogus ").is_empty());
    }

    #[test]
    fn completion_offers_keywords_only() {
        let (start, c) = complete(&[TABLE], "switchport a", 12);
        assert_eq!(start, 11);
        assert_eq!(c[0].word, "access");
        let (start, c) = complete(&[TABLE], "vlan ", 5);
        assert_eq!(start, 5);
        assert!(c.is_empty());
    }
}
