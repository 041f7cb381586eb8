//! Row predicates: a small SQL-like language, e.g.
//! `region = 'EU' AND (amount >= 100 OR vip IS NOT NULL)`.
//!
//! Grammar: `expr := and (OR and)*`, `and := not (AND not)*`,
//! `not := NOT not | '(' expr ')' | column test`, where a test is
//! `= != <> < <= > >=` a literal, `IS [NOT] NULL`, or `[NOT] IN (literal, …)`.
//! Literals: `'text'` (`''` escapes a quote), numbers, `TRUE`, `FALSE`, `NULL`.
//! Columns: bare names or `"quoted names"`. NULL compares as unknown, as in SQL:
//! a row is kept only when the predicate is true.

use std::cmp::Ordering;

use hubsync_core::{Column, Value as CoreValue};
use hubsync_pdk::{TableSchema, Value};

/// A parsed, not yet bound, predicate.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Both.
    And(Box<Expr>, Box<Expr>),
    /// Either.
    Or(Box<Expr>, Box<Expr>),
    /// Not.
    Not(Box<Expr>),
    /// `column op literal`.
    Cmp(String, Op, Lit),
    /// `column IS NULL` (or `IS NOT NULL` under `Not`).
    IsNull(String),
    /// `column IN (…)`.
    In(String, Vec<Lit>),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Eq,
    /// `<>` or `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// A literal as written.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    /// `'text'`
    Str(String),
    /// A number as written.
    Num(String),
    /// `TRUE` / `FALSE`
    Bool(bool),
    /// `NULL`
    Null,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(String),
    Op(Op),
    LParen,
    RParen,
    Comma,
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => (out.push(Tok::LParen), i += 1).1,
            ')' => (out.push(Tok::RParen), i += 1).1,
            ',' => (out.push(Tok::Comma), i += 1).1,
            '\'' | '"' => {
                let mut text = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(format!("unterminated {c}…{c} in predicate")),
                        Some(&q) if q == c && chars.get(i + 1) == Some(&c) => {
                            text.push(c);
                            i += 2;
                        }
                        Some(&q) if q == c => {
                            i += 1;
                            break;
                        }
                        Some(&other) => {
                            text.push(other);
                            i += 1;
                        }
                    }
                }
                out.push(if c == '\'' { Tok::Str(text) } else { Tok::Ident(text) });
            }
            '=' => (out.push(Tok::Op(Op::Eq)), i += 1).1,
            '<' | '>' | '!' => {
                let next = chars.get(i + 1).copied();
                let (op, len) = match (c, next) {
                    ('<', Some('=')) => (Op::Le, 2),
                    ('<', Some('>')) | ('!', Some('=')) => (Op::Ne, 2),
                    ('>', Some('=')) => (Op::Ge, 2),
                    ('<', _) => (Op::Lt, 1),
                    ('>', _) => (Op::Gt, 1),
                    _ => return Err("`!` must be followed by `=`".into()),
                };
                out.push(Tok::Op(op));
                i += len;
            }
            c if c.is_ascii_digit() || c == '-' || c == '+' || c == '.' => {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                    i += 1;
                }
                out.push(Tok::Num(chars[start..i].iter().collect()));
            }
            c if c.is_alphanumeric() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$') {
                    i += 1;
                }
                out.push(Tok::Ident(chars[start..i].iter().collect()));
            }
            other => return Err(format!("unexpected character {other:?} in predicate")),
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek_kw(&self, kw: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Ident(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        let yes = self.peek_kw(kw);
        if yes {
            self.pos += 1;
        }
        yes
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn expect(&mut self, tok: Tok, what: &str) -> Result<(), String> {
        match self.next() {
            Some(t) if t == tok => Ok(()),
            other => Err(format!("expected {what}, found {}", describe(other.as_ref()))),
        }
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut e = self.and()?;
        while self.eat_kw("OR") {
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut e = self.not()?;
        while self.eat_kw("AND") {
            e = Expr::And(Box::new(e), Box::new(self.not()?));
        }
        Ok(e)
    }

    fn not(&mut self) -> Result<Expr, String> {
        if self.eat_kw("NOT") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        if self.toks.get(self.pos) == Some(&Tok::LParen) {
            self.pos += 1;
            let e = self.or()?;
            self.expect(Tok::RParen, "`)`")?;
            return Ok(e);
        }
        let column = match self.next() {
            Some(Tok::Ident(name)) => name,
            other => return Err(format!("expected a column name, found {}", describe(other.as_ref()))),
        };
        if self.eat_kw("IS") {
            let negated = self.eat_kw("NOT");
            if !self.eat_kw("NULL") {
                return Err(format!("expected NULL after IS in the test of {column:?}"));
            }
            let e = Expr::IsNull(column);
            return Ok(if negated { Expr::Not(Box::new(e)) } else { e });
        }
        let negated = self.eat_kw("NOT");
        if self.eat_kw("IN") {
            self.expect(Tok::LParen, "`(` after IN")?;
            let mut items = vec![self.literal()?];
            while self.toks.get(self.pos) == Some(&Tok::Comma) {
                self.pos += 1;
                items.push(self.literal()?);
            }
            self.expect(Tok::RParen, "`)` closing IN")?;
            let e = Expr::In(column, items);
            return Ok(if negated { Expr::Not(Box::new(e)) } else { e });
        }
        if negated {
            return Err(format!("expected IN after NOT in the test of {column:?}"));
        }
        match self.next() {
            Some(Tok::Op(op)) => Ok(Expr::Cmp(column, op, self.literal()?)),
            other => Err(format!(
                "expected an operator (=, <>, <, <=, >, >=, IS, IN) after {column:?}, found {}",
                describe(other.as_ref())
            )),
        }
    }

    fn literal(&mut self) -> Result<Lit, String> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Lit::Str(s)),
            Some(Tok::Num(n)) => Ok(Lit::Num(n)),
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("TRUE") => Ok(Lit::Bool(true)),
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("FALSE") => Ok(Lit::Bool(false)),
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("NULL") => Ok(Lit::Null),
            other => Err(format!(
                "expected a literal ('text', a number, TRUE, FALSE, NULL), found {}",
                describe(other.as_ref())
            )),
        }
    }
}

fn describe(t: Option<&Tok>) -> String {
    match t {
        None => "the end".into(),
        Some(Tok::Ident(s)) => format!("{s:?}"),
        Some(Tok::Str(s)) => format!("'{s}'"),
        Some(Tok::Num(n)) => n.clone(),
        Some(Tok::Op(op)) => format!("{op:?}"),
        Some(Tok::LParen) => "`(`".into(),
        Some(Tok::RParen) => "`)`".into(),
        Some(Tok::Comma) => "`,`".into(),
    }
}

/// Parse a predicate.
pub fn parse(s: &str) -> Result<Expr, String> {
    let mut p = Parser { toks: lex(s)?, pos: 0 };
    let e = p.or()?;
    if p.pos < p.toks.len() {
        return Err(format!("unexpected {} after the end of the predicate", describe(p.toks.get(p.pos))));
    }
    Ok(e)
}

/// A predicate bound to a table: columns resolved, literals typed.
#[derive(Debug)]
pub enum Bound {
    /// Both.
    And(Box<Bound>, Box<Bound>),
    /// Either.
    Or(Box<Bound>, Box<Bound>),
    /// Not.
    Not(Box<Bound>),
    /// Compare column `usize` with a value.
    Cmp(usize, Op, Value),
    /// Column is NULL.
    IsNull(usize),
    /// Column is one of the values.
    In(usize, Vec<Value>),
}

fn bind_lit(col: &Column, lit: &Lit) -> Result<Value, String> {
    let v = match lit {
        Lit::Null => CoreValue::Null,
        Lit::Bool(b) => CoreValue::Bool(*b).cast(col.kind).map_err(|e| e.to_string())?,
        Lit::Str(s) | Lit::Num(s) => CoreValue::parse_text(s, col.kind)?,
    };
    Ok(v.into())
}

/// Resolve columns against `table` and type the literals by column.
pub fn bind(e: &Expr, table: &TableSchema) -> Result<Bound, String> {
    let col = |name: &str| -> Result<(usize, Column), String> {
        let i = table
            .index_of(name)
            .ok_or_else(|| format!("the predicate names column {name:?}, which table {} does not have", table.name))?;
        let c = &table.columns[i];
        Ok((i, Column::new(c.name.clone(), c.kind.into())))
    };
    let ctx = |name: &str, e: String| format!("in the predicate, column {name:?}: {e}");
    Ok(match e {
        Expr::And(a, b) => Bound::And(Box::new(bind(a, table)?), Box::new(bind(b, table)?)),
        Expr::Or(a, b) => Bound::Or(Box::new(bind(a, table)?), Box::new(bind(b, table)?)),
        Expr::Not(a) => Bound::Not(Box::new(bind(a, table)?)),
        Expr::IsNull(name) => Bound::IsNull(col(name)?.0),
        Expr::Cmp(name, op, lit) => {
            let (i, c) = col(name)?;
            Bound::Cmp(i, *op, bind_lit(&c, lit).map_err(|e| ctx(name, e))?)
        }
        Expr::In(name, lits) => {
            let (i, c) = col(name)?;
            let vals = lits.iter().map(|l| bind_lit(&c, l)).collect::<Result<_, _>>().map_err(|e| ctx(name, e))?;
            Bound::In(i, vals)
        }
    })
}

fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    if a.is_null() || b.is_null() {
        return None;
    }
    if let Some(o) = a.numeric_cmp(b) {
        return Some(o);
    }
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Text(x), Value::Text(y)) | (Value::Json(x), Value::Json(y)) => Some(x.cmp(y)),
        (Value::Bytes(x), Value::Bytes(y)) => Some(x.cmp(y)),
        (Value::Date(x), Value::Date(y)) => Some(x.cmp(y)),
        (Value::Time(x), Value::Time(y))
        | (Value::Timestamp(x), Value::Timestamp(y))
        | (Value::Timestamptz(x), Value::Timestamptz(y)) => Some(x.cmp(y)),
        (Value::Uuid(x), Value::Uuid(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

impl Bound {
    /// SQL three-valued evaluation: `None` is unknown.
    pub fn eval(&self, row: &[Value]) -> Option<bool> {
        match self {
            Bound::And(a, b) => match (a.eval(row), b.eval(row)) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            },
            Bound::Or(a, b) => match (a.eval(row), b.eval(row)) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            },
            Bound::Not(a) => a.eval(row).map(|b| !b),
            Bound::IsNull(i) => Some(row.get(*i).is_none_or(Value::is_null)),
            Bound::Cmp(i, op, lit) => {
                let o = compare(row.get(*i)?, lit)?;
                Some(match op {
                    Op::Eq => o == Ordering::Equal,
                    Op::Ne => o != Ordering::Equal,
                    Op::Lt => o == Ordering::Less,
                    Op::Le => o != Ordering::Greater,
                    Op::Gt => o == Ordering::Greater,
                    Op::Ge => o != Ordering::Less,
                })
            }
            Bound::In(i, vals) => {
                let v = row.get(*i)?;
                let mut unknown = v.is_null();
                for x in vals {
                    match compare(v, x) {
                        Some(Ordering::Equal) => return Some(true),
                        None => unknown = true,
                        _ => {}
                    }
                }
                if unknown { None } else { Some(false) }
            }
        }
    }
}
