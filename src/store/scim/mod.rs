//! The SCIM store: tokens, the SCIM rows of an organisation's managed accounts and SCIM
//! groups. A list is one query on `scim_users` (or `scim_groups`) with the filter built as
//! diesel expressions over bound parameters (never SQL text from the request), ordered, limited
//! and offset, plus one COUNT with the same filter; `active` and group membership are
//! correlated `EXISTS` subqueries on primary keys.

use super::DbConn;

type Db = <DbConn as diesel::Connection>::Backend;

/// Who manages a SCIM group (`groups.managed_by`).
const MANAGED_BY: &str = "scim";
/// Rows per `IN (…)` list.
const CHUNK: usize = 500;

macro_rules! nullable_text {
    ($col:expr, $op:expr, $v:expr, $ty:ty) => {{
        let col = $col;
        let v: String = $v;
        let e: $ty = match $op {
            $crate::scim::query::TextOp::Eq => {
                Box::new(col.is_not_null().and(col.assume_not_null().eq(v)))
            }
            $crate::scim::query::TextOp::Ne => {
                Box::new(col.is_null().or(col.assume_not_null().ne(v)))
            }
            $crate::scim::query::TextOp::Co => Box::new(
                col.is_not_null().and(
                    col.assume_not_null()
                        .like(format!("%{}%", $crate::scim::query::like_escape(&v)))
                        .escape('\\'),
                ),
            ),
            $crate::scim::query::TextOp::Sw => Box::new(
                col.is_not_null().and(
                    col.assume_not_null()
                        .like(format!("{}%", $crate::scim::query::like_escape(&v)))
                        .escape('\\'),
                ),
            ),
            $crate::scim::query::TextOp::Ew => Box::new(
                col.is_not_null().and(
                    col.assume_not_null()
                        .like(format!("%{}", $crate::scim::query::like_escape(&v)))
                        .escape('\\'),
                ),
            ),
            $crate::scim::query::TextOp::Gt => {
                Box::new(col.is_not_null().and(col.assume_not_null().gt(v)))
            }
            $crate::scim::query::TextOp::Ge => {
                Box::new(col.is_not_null().and(col.assume_not_null().ge(v)))
            }
            $crate::scim::query::TextOp::Lt => {
                Box::new(col.is_not_null().and(col.assume_not_null().lt(v)))
            }
            $crate::scim::query::TextOp::Le => {
                Box::new(col.is_not_null().and(col.assume_not_null().le(v)))
            }
        };
        e
    }};
}

/// The same on a NOT NULL column.
macro_rules! text {
    ($col:expr, $op:expr, $v:expr, $ty:ty) => {{
        let col = $col;
        let v: String = $v;
        let e: $ty = match $op {
            $crate::scim::query::TextOp::Eq => Box::new(col.eq(v)),
            $crate::scim::query::TextOp::Ne => Box::new(col.ne(v)),
            $crate::scim::query::TextOp::Co => Box::new(
                col.like(format!("%{}%", $crate::scim::query::like_escape(&v)))
                    .escape('\\'),
            ),
            $crate::scim::query::TextOp::Sw => Box::new(
                col.like(format!("{}%", $crate::scim::query::like_escape(&v)))
                    .escape('\\'),
            ),
            $crate::scim::query::TextOp::Ew => Box::new(
                col.like(format!("%{}", $crate::scim::query::like_escape(&v)))
                    .escape('\\'),
            ),
            $crate::scim::query::TextOp::Gt => Box::new(col.gt(v)),
            $crate::scim::query::TextOp::Ge => Box::new(col.ge(v)),
            $crate::scim::query::TextOp::Lt => Box::new(col.lt(v)),
            $crate::scim::query::TextOp::Le => Box::new(col.le(v)),
        };
        e
    }};
}

macro_rules! time {
    ($col:expr, $op:expr, $v:expr, $ty:ty) => {{
        let col = $col;
        let v: i64 = $v;
        let e: $ty = match $op {
            $crate::scim::query::TextOp::Eq => Box::new(col.eq(v)),
            $crate::scim::query::TextOp::Ne => Box::new(col.ne(v)),
            $crate::scim::query::TextOp::Gt => Box::new(col.gt(v)),
            $crate::scim::query::TextOp::Ge => Box::new(col.ge(v)),
            $crate::scim::query::TextOp::Lt => Box::new(col.lt(v)),
            $crate::scim::query::TextOp::Le => Box::new(col.le(v)),
            // `co`/`sw`/`ew` on a date-time: nothing matches.
            $crate::scim::query::TextOp::Co
            | $crate::scim::query::TextOp::Sw
            | $crate::scim::query::TextOp::Ew => Box::new(col.ne(col)),
        };
        e
    }};
}

mod groups;
mod tokens;
mod users;
