//! The SCIM filter language (RFC 7644 §3.4.2.2): a tokenizer and a recursive-descent parser
//! with the RFC's precedence (`not` binds tighter than `and`, `and` tighter than `or`),
//! parentheses, value paths (`emails[type eq "work" and value co "@x"]`) and URN-prefixed
//! attribute paths. The parser only builds the tree: the store translates it into one SQL
//! query (attributes it cannot translate are refused there with `invalidFilter`), and
//! [`Filter::matches`] evaluates it on one JSON value (PATCH value filters, RFC 7644 §3.5.2).

use serde_json::Value;

use super::error::ScimError;

/// Longest filter accepted (characters); longer ones answer `invalidFilter`.
pub const MAX_FILTER_LEN: usize = 4096;
/// Deepest nesting of parentheses, `not` and brackets.
const MAX_DEPTH: usize = 32;
/// How many `and` / `or` one filter may join. A flat chain is no deeper in `MAX_DEPTH`'s sense,
/// but it builds a tree as deep as it is long, which evaluating or dropping walks recursively:
/// unbounded, a long chain overflowed the stack and aborted the process.
const MAX_OPERATORS: usize = 64;

/// `[URI ":"] ATTRNAME *1subAttr`, names as written (compared case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// The schema URN prefix, e.g. `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`.
    pub urn: Option<String>,
    pub attr: String,
    pub sub: Option<String>,
}

impl AttrPath {
    /// Parses one attribute path token. The URN is everything before the last `:`, so the
    /// dot of `2.0` in an extension URN is not taken for a sub-attribute.
    pub fn parse(token: &str) -> Result<Self, String> {
        let (urn, rest) = match token.rfind(':') {
            Some(i) => (Some(&token[..i]), &token[i + 1..]),
            None => (None, token),
        };
        if let Some(urn) = urn
            && (!urn.to_ascii_lowercase().starts_with("urn:") || urn.len() < 5)
        {
            return Err(format!("`{token}` is not an attribute path"));
        }
        let (attr, sub) = match rest.split_once('.') {
            Some((a, s)) => (a, Some(s)),
            None => (rest, None),
        };
        let valid = |n: &str| {
            let n = n.strip_prefix('$').unwrap_or(n);
            n.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        if !valid(attr) || sub.is_some_and(|s| !valid(s)) {
            return Err(format!("`{token}` is not an attribute path"));
        }
        Ok(Self {
            urn: urn.map(str::to_owned),
            attr: attr.to_owned(),
            sub: sub.map(str::to_owned),
        })
    }

    /// `attr` or `attr.sub`, lower-cased, without the URN: how the server names it.
    pub fn key(&self) -> String {
        match &self.sub {
            Some(s) => format!("{}.{}", self.attr, s).to_ascii_lowercase(),
            None => self.attr.to_ascii_lowercase(),
        }
    }

    /// The URN, lower-cased, if any.
    pub fn urn_key(&self) -> Option<String> {
        self.urn.as_ref().map(|u| u.to_ascii_lowercase())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "co" => CompareOp::Co,
            "sw" => CompareOp::Sw,
            "ew" => CompareOp::Ew,
            "gt" => CompareOp::Gt,
            "ge" => CompareOp::Ge,
            "lt" => CompareOp::Lt,
            "le" => CompareOp::Le,
            _ => return None,
        })
    }
}

/// A `compValue`: `false / null / true / number / string`.
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Or(Box<Filter>, Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Present(AttrPath),
    Compare(AttrPath, CompareOp, CompValue),
    /// `attr[filter]`: some value of the multi-valued `attr` matches `filter` (whose paths are
    /// sub-attributes of `attr`).
    ValuePath(AttrPath, Box<Filter>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    /// A word: an attribute path, an operator, a keyword, a number or a literal.
    Word(String),
    Str(String),
}

fn tokenize(input: &str) -> Result<Vec<Tok>, String> {
    let mut toks = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            ' ' | '\t' | '\n' | '\r' => {
                chars.next();
            }
            '(' => {
                chars.next();
                toks.push(Tok::LParen);
            }
            ')' => {
                chars.next();
                toks.push(Tok::RParen);
            }
            '[' => {
                chars.next();
                toks.push(Tok::LBracket);
            }
            ']' => {
                chars.next();
                toks.push(Tok::RBracket);
            }
            '"' => {
                chars.next();
                let mut end = None;
                let mut escaped = false;
                for (j, d) in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if d == '\\' {
                        escaped = true;
                    } else if d == '"' {
                        end = Some(j);
                        break;
                    }
                }
                let end = end.ok_or("an unterminated string")?;
                // JSON string rules (RFC 7644 §3.4.2.2: values are JSON values).
                let s: String = serde_json::from_str(&input[i..=end])
                    .map_err(|_| "an invalid string escape".to_owned())?;
                toks.push(Tok::Str(s));
            }
            _ => {
                let mut end = input.len();
                while let Some(&(j, d)) = chars.peek() {
                    if matches!(d, ' ' | '\t' | '\n' | '\r' | '(' | ')' | '[' | ']' | '"') {
                        end = j;
                        break;
                    }
                    chars.next();
                }
                toks.push(Tok::Word(input[i..end].to_owned()));
            }
        }
    }
    Ok(toks)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
    operators: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn peek_keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    /// Counts one `and` / `or` against [`MAX_OPERATORS`].
    fn join(&mut self) -> Result<(), String> {
        self.operators += 1;
        if self.operators > MAX_OPERATORS {
            return Err(format!("more than {MAX_OPERATORS} and/or operators"));
        }
        Ok(())
    }

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("the filter is nested too deeply".into());
        }
        Ok(())
    }

    /// `or` has the lowest precedence.
    fn or(&mut self, in_brackets: bool) -> Result<Filter, String> {
        let mut left = self.and(in_brackets)?;
        while self.peek_keyword("or") {
            self.next();
            self.join()?;
            let right = self.and(in_brackets)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self, in_brackets: bool) -> Result<Filter, String> {
        let mut left = self.unary(in_brackets)?;
        while self.peek_keyword("and") {
            self.next();
            self.join()?;
            let right = self.unary(in_brackets)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, in_brackets: bool) -> Result<Filter, String> {
        self.enter()?;
        let f = self.unary_inner(in_brackets);
        self.depth -= 1;
        f
    }

    fn unary_inner(&mut self, in_brackets: bool) -> Result<Filter, String> {
        if self.peek_keyword("not") && matches!(self.toks.get(self.pos + 1), Some(Tok::LParen)) {
            self.next();
            self.next();
            let inner = self.or(in_brackets)?;
            self.expect(Tok::RParen)?;
            return Ok(Filter::Not(Box::new(inner)));
        }
        if matches!(self.peek(), Some(Tok::LParen)) {
            self.next();
            let inner = self.or(in_brackets)?;
            self.expect(Tok::RParen)?;
            return Ok(inner);
        }
        let path = match self.next() {
            Some(Tok::Word(w)) => AttrPath::parse(&w)?,
            Some(_) => return Err("an attribute path was expected".into()),
            None => return Err("the filter ends too early".into()),
        };
        if matches!(self.peek(), Some(Tok::LBracket)) {
            if in_brackets || path.sub.is_some() {
                return Err("value filters cannot be nested".into());
            }
            self.next();
            let inner = self.or(true)?;
            self.expect(Tok::RBracket)?;
            // `emails[type eq "work"].value eq "x"`: a sub-attribute after the brackets.
            if let Some(Tok::Word(w)) = self.peek()
                && let Some(sub) = w.strip_prefix('.')
            {
                let sub = AttrPath::parse(sub)?;
                if sub.urn.is_some() || sub.sub.is_some() {
                    return Err("a sub-attribute was expected after `]`".into());
                }
                self.next();
                let cond = self.attr_exp(sub)?;
                return Ok(Filter::ValuePath(
                    path,
                    Box::new(Filter::And(Box::new(inner), Box::new(cond))),
                ));
            }
            return Ok(Filter::ValuePath(path, Box::new(inner)));
        }
        self.attr_exp(path)
    }

    fn attr_exp(&mut self, path: AttrPath) -> Result<Filter, String> {
        let op = match self.next() {
            Some(Tok::Word(w)) => w,
            _ => return Err("an operator was expected".into()),
        };
        if op.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let op = CompareOp::parse(&op).ok_or_else(|| format!("`{op}` is not an operator"))?;
        let value = match self.next() {
            Some(Tok::Str(s)) => CompValue::Str(s),
            Some(Tok::Word(w)) => match w.as_str() {
                "true" => CompValue::Bool(true),
                "false" => CompValue::Bool(false),
                "null" => CompValue::Null,
                _ => match w.parse::<f64>() {
                    Ok(n)
                        if n.is_finite() && w.bytes().all(|b| b"0123456789+-.eE".contains(&b)) =>
                    {
                        CompValue::Num(n)
                    }
                    _ => return Err(format!("`{w}` is not a value")),
                },
            },
            _ => return Err("a value was expected".into()),
        };
        Ok(Filter::Compare(path, op, value))
    }

    fn expect(&mut self, tok: Tok) -> Result<(), String> {
        match self.next() {
            Some(t) if t == tok => Ok(()),
            _ => Err(format!("{tok:?} was expected")
                .replace("LParen", "`(`")
                .replace("RParen", "`)`")
                .replace("RBracket", "`]`")),
        }
    }
}

/// Parses a filter; every failure is a `400 invalidFilter` with what went wrong.
pub fn parse(input: &str) -> Result<Filter, ScimError> {
    let fail = |why: String| ScimError::invalid_filter(format!("Invalid filter: {why}"));
    if input.chars().count() > MAX_FILTER_LEN {
        return Err(fail(format!("longer than {MAX_FILTER_LEN} characters")));
    }
    let toks = tokenize(input).map_err(fail)?;
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
        operators: 0,
    };
    let f = p.or(false).map_err(fail)?;
    if p.pos != p.toks.len() {
        return Err(fail("unexpected text after the filter".into()));
    }
    Ok(f)
}

/// Parses a value filter (the inside of `attr[...]` in a PATCH path).
pub(crate) fn parse_value_filter(input: &str) -> Result<Filter, String> {
    if input.chars().count() > MAX_FILTER_LEN {
        return Err(format!("longer than {MAX_FILTER_LEN} characters"));
    }
    let toks = tokenize(input)?;
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
        operators: 0,
    };
    let f = p.or(true)?;
    if p.pos != p.toks.len() {
        return Err("unexpected text after the filter".into());
    }
    Ok(f)
}

fn get_ci<'a>(obj: &'a Value, name: &str) -> Option<&'a Value> {
    obj.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn resolve<'a>(value: &'a Value, path: &AttrPath) -> Option<&'a Value> {
    let mut v = value;
    if let Some(urn) = &path.urn
        && let Some(ext) = get_ci(value, urn)
    {
        v = ext;
    }
    let v = get_ci(v, &path.attr)?;
    match &path.sub {
        Some(s) => get_ci(v, s),
        None => Some(v),
    }
}

fn compare(actual: &Value, op: CompareOp, expected: &CompValue) -> bool {
    match (actual, expected) {
        (Value::Array(items), _) => items.iter().any(|i| compare(i, op, expected)),
        (Value::String(a), CompValue::Str(e)) => {
            // Case-insensitive, as for most SCIM string attributes (caseExact false).
            let (a, e) = (a.to_lowercase(), e.to_lowercase());
            match op {
                CompareOp::Eq => a == e,
                CompareOp::Ne => a != e,
                CompareOp::Co => a.contains(&e),
                CompareOp::Sw => a.starts_with(&e),
                CompareOp::Ew => a.ends_with(&e),
                CompareOp::Gt => a > e,
                CompareOp::Ge => a >= e,
                CompareOp::Lt => a < e,
                CompareOp::Le => a <= e,
            }
        }
        (Value::Bool(a), CompValue::Bool(e)) => match op {
            CompareOp::Eq => a == e,
            CompareOp::Ne => a != e,
            _ => false,
        },
        (Value::Number(a), CompValue::Num(e)) => {
            let a = a.as_f64().unwrap_or(f64::NAN);
            match op {
                CompareOp::Eq => a == *e,
                CompareOp::Ne => a != *e,
                CompareOp::Gt => a > *e,
                CompareOp::Ge => a >= *e,
                CompareOp::Lt => a < *e,
                CompareOp::Le => a <= *e,
                _ => false,
            }
        }
        (Value::Null, CompValue::Null) => op == CompareOp::Eq,
        (_, CompValue::Null) => op == CompareOp::Ne,
        _ => op == CompareOp::Ne,
    }
}

impl Filter {
    /// Whether one JSON value (a resource, or one element of a multi-valued attribute for a
    /// value filter) matches. Used in memory for PATCH targets only, never to filter a list.
    pub fn matches(&self, value: &Value) -> bool {
        match self {
            Filter::Or(a, b) => a.matches(value) || b.matches(value),
            Filter::And(a, b) => a.matches(value) && b.matches(value),
            Filter::Not(f) => !f.matches(value),
            Filter::Present(p) => resolve(value, p).is_some_and(|v| match v {
                Value::Null => false,
                Value::String(s) => !s.is_empty(),
                Value::Array(a) => !a.is_empty(),
                Value::Object(o) => !o.is_empty(),
                _ => true,
            }),
            Filter::Compare(p, op, e) => match resolve(value, p) {
                Some(v) => compare(v, *op, e),
                None => matches!(
                    (op, e),
                    (CompareOp::Ne, _) | (CompareOp::Eq, CompValue::Null)
                ),
            },
            Filter::ValuePath(p, f) => match resolve(value, p) {
                Some(Value::Array(items)) => items.iter().any(|i| f.matches(i)),
                Some(v) => f.matches(v),
                None => false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_and_or_chains_are_refused_not_recursed() {
        let chain = |n: usize, op: &str| {
            (0..n)
                .map(|i| format!("value eq \"{i}\""))
                .collect::<Vec<_>>()
                .join(&format!(" {op} "))
        };
        assert!(super::parse(&chain(MAX_OPERATORS + 1, "or")).is_ok());
        assert!(super::parse(&chain(MAX_OPERATORS + 2, "or")).is_err());
        assert!(super::parse(&chain(MAX_OPERATORS + 2, "and")).is_err());
        assert!(parse_value_filter(&chain(MAX_OPERATORS + 2, "or")).is_err());
        // The chain the attack review sent in a PATCH path (55,000 `or`s, ~1 MB).
        let huge = chain(55_000, "or");
        assert!(parse_value_filter(&huge).is_err());
        assert!(super::parse(&huge).is_err());
    }

    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn path(s: &str) -> AttrPath {
        AttrPath::parse(s).unwrap()
    }

    fn eq(p: &str, v: &str) -> Filter {
        Filter::Compare(path(p), CompareOp::Eq, CompValue::Str(v.into()))
    }

    #[test]
    fn rfc_examples_parse() {
        // The examples of RFC 7644 §3.4.2.2.
        for f in [
            r#"userName Eq "john""#,
            r#"name.familyName co "O'Malley""#,
            r#"userName sw "J""#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
            "title pr",
            r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
            r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
            r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
            r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
            r#"title pr and userType eq "Employee""#,
            r#"title pr or userType eq "Intern""#,
            r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
            r#"userType eq "Employee" and (emails.type eq "work")"#,
            r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
            r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
        ] {
            parse(f).unwrap_or_else(|e| panic!("{f}: {e}"));
        }
    }

    #[test]
    fn precedence_and_over_or_not_over_and() {
        let f = parse(r#"a eq "1" or b eq "2" and c eq "3""#).unwrap();
        assert_eq!(
            f,
            Filter::Or(
                Box::new(eq("a", "1")),
                Box::new(Filter::And(Box::new(eq("b", "2")), Box::new(eq("c", "3"))))
            )
        );
        let f = parse(r#"(a eq "1" or b eq "2") and not (c eq "3")"#).unwrap();
        assert_eq!(
            f,
            Filter::And(
                Box::new(Filter::Or(Box::new(eq("a", "1")), Box::new(eq("b", "2")))),
                Box::new(Filter::Not(Box::new(eq("c", "3"))))
            )
        );
    }

    #[test]
    fn enterprise_urn_paths_keep_the_dot_of_2_0() {
        let p = path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value");
        assert_eq!(
            p.urn.as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        );
        assert_eq!(
            (p.attr.as_str(), p.sub.as_deref()),
            ("manager", Some("value"))
        );
        let f = parse(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
        )
        .unwrap();
        assert!(matches!(f, Filter::Compare(p, CompareOp::Eq, _) if p.key() == "employeenumber"));
    }

    #[test]
    fn strings_use_json_escapes() {
        let f = parse(r#"displayName eq "a \"quoted\" \\ name \u00e9""#).unwrap();
        assert_eq!(f, eq("displayName", "a \"quoted\" \\ name é"));
        assert!(parse(r#"displayName eq "\x""#).is_err());
        assert!(parse(r#"displayName eq "open"#).is_err());
    }

    #[test]
    fn values_of_every_kind() {
        assert!(matches!(
            parse("active eq true").unwrap(),
            Filter::Compare(_, _, CompValue::Bool(true))
        ));
        assert!(matches!(
            parse("x eq null").unwrap(),
            Filter::Compare(_, _, CompValue::Null)
        ));
        assert!(
            matches!(parse("x gt 1.5e2").unwrap(), Filter::Compare(_, CompareOp::Gt, CompValue::Num(n)) if n == 150.0)
        );
        assert!(parse("x eq True1").is_err());
        assert!(parse("x eq inf").is_err());
        assert!(parse("x eq NaN").is_err());
    }

    #[test]
    fn value_path_with_trailing_sub_attribute() {
        let f = parse(r#"emails[type eq "work"].value eq "a@b.c""#).unwrap();
        let Filter::ValuePath(p, inner) = f else {
            panic!()
        };
        assert_eq!(p.attr, "emails");
        assert_eq!(
            *inner,
            Filter::And(Box::new(eq("type", "work")), Box::new(eq("value", "a@b.c")))
        );
    }

    #[test]
    fn bad_filters_are_invalid_filter() {
        for f in [
            "",
            "userName",
            "userName eq",
            r#"userName xx "a""#,
            r#"userName eq "a" and"#,
            r#"(userName eq "a""#,
            r#"userName eq "a")"#,
            r#"emails[type eq "work""#,
            r#"emails[type[x eq "1"] eq "1"]"#,
            r#"1abc eq "x""#,
            r#"a.b.c eq "x""#,
            r#"not userName eq "a""#,
        ] {
            let e = parse(f).expect_err(f);
            assert_eq!(
                e.scim_type,
                Some(super::super::error::ScimType::InvalidFilter),
                "{f}"
            );
            assert_eq!(e.status, 400);
        }
        let deep = format!("{}a pr{}", "(".repeat(100), ")".repeat(100));
        assert!(parse(&deep).is_err());
        assert!(parse(&"a pr and ".repeat(1000)).is_err());
    }

    #[test]
    fn matches_value_filters_in_memory() {
        let member = json!({"value": "usr_1", "display": "Alice"});
        assert!(parse(r#"value eq "USR_1""#).unwrap().matches(&member));
        assert!(!parse(r#"value eq "usr_2""#).unwrap().matches(&member));
        let user =
            json!({"emails": [{"type": "home", "value": "a@h"}, {"type": "work", "value": "a@w"}]});
        assert!(
            parse(r#"emails[type eq "work" and value sw "a@"]"#)
                .unwrap()
                .matches(&user)
        );
        assert!(!parse(r#"emails[type eq "other"]"#).unwrap().matches(&user));
        assert!(
            parse(r#"not (emails[type eq "other"])"#)
                .unwrap()
                .matches(&user)
        );
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_input(s in "\\PC{0,200}") {
            let _ = parse(&s);
            let _ = parse_value_filter(&s);
        }

        #[test]
        fn never_panics_on_filter_like_input(s in r#"[a-z\.:\[\]\(\)" \\]{0,80}( (eq|pr|and|or|not) [a-z"\(\)\[\]]{0,10}){0,5}"#) {
            let _ = parse(&s);
        }
    }
}
