//! Paging: ECS' PageNumber (from 1) and PageSize, with per-action maximum page sizes, and the
//! Tencent Cloud API's Offset and Limit (a window that need not start on a page boundary).

use crate::{Error, Result};

/// How a listing pages: numbered pages, or a NextToken cursor.
#[derive(Debug, Clone, Copy)]
pub enum Paging {
    Numbered(Page),
    /// `after`: the cursor from the previous page's NextToken (None for the first page).
    Token {
        after: Option<i64>,
        max: i64,
    },
}

impl Paging {
    /// (after, offset, limit) for the store. A token page asks one row more than it returns,
    /// which tells whether another page follows.
    pub fn query(&self) -> (Option<i64>, i64, i64) {
        match *self {
            Paging::Numbered(p) => (None, p.offset(), p.limit()),
            Paging::Token { after, max } => (after, 0, max + 1),
        }
    }

    /// Cuts a token page to its size and returns its NextToken: the `seq` of its last row, or
    /// empty when no page follows (and always for numbered pages).
    pub fn next_token<T>(&self, rows: &mut Vec<T>, seq: impl Fn(&T) -> i64) -> String {
        let Paging::Token { max, .. } = *self else {
            return String::new();
        };
        let max = max as usize;
        if rows.len() <= max {
            return String::new();
        }
        rows.truncate(max);
        rows.last().map(|r| seq(r).to_string()).unwrap_or_default()
    }
}

/// A NextToken: the `seq` of the previous page's last row, so a listing continues where the
/// previous page ended even if rows were created or deleted in between.
pub fn parse_next_token(token: &str) -> Result<i64> {
    token.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
        Error::bad_request(
            "InvalidNextToken.Malformed",
            format!("The specified parameter \"NextToken\" is not valid: {token:?} was not returned by a previous call."),
        )
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub number: u32,
    pub size: u32,
    /// Rows skipped before page 1 (Tencent's Offset); 0 for ECS pages.
    skip: i64,
}

impl Page {
    /// Checks PageNumber ≥ 1 and 1 ≤ PageSize ≤ `max`, defaulting to page 1 of `default_size`.
    pub fn new(
        number: Option<i64>,
        size: Option<i64>,
        default_size: u32,
        max: u32,
    ) -> Result<Page> {
        let number = number.unwrap_or(1);
        if number < 1 || number > u32::MAX as i64 {
            return Err(Error::bad_request(
                "InvalidPageNumber.Malformed",
                "The parameter \"PageNumber\" must be a positive integer.",
            ));
        }
        let size = size.unwrap_or(default_size as i64);
        if size < 1 || size > max as i64 {
            return Err(Error::bad_request(
                "InvalidPageSize.Malformed",
                format!("The parameter \"PageSize\" must be between 1 and {max}."),
            ));
        }
        Ok(Page {
            number: number as u32,
            size: size as u32,
            skip: 0,
        })
    }

    /// Tencent's Offset (≥ 0, default 0) and Limit (1 to `max`, default `default_limit`);
    /// out of range is `InvalidParameterValue.Range`, naming the parameter.
    pub fn window(
        offset: Option<i64>,
        limit: Option<i64>,
        default_limit: u32,
        max: u32,
    ) -> Result<Page> {
        let offset = offset.unwrap_or(0);
        if offset < 0 {
            return Err(Error::bad_request(
                "InvalidParameterValue.Range",
                format!("The parameter \"Offset\" {offset} is not valid: it must be 0 or more."),
            ));
        }
        let limit = limit.unwrap_or(default_limit as i64);
        if limit < 1 || limit > max as i64 {
            return Err(Error::bad_request(
                "InvalidParameterValue.Range",
                format!(
                    "The parameter \"Limit\" {limit} is not valid: it must be between 1 and {max}."
                ),
            ));
        }
        Ok(Page {
            number: 1,
            size: limit as u32,
            skip: offset,
        })
    }

    pub fn offset(&self) -> i64 {
        (self.number as i64 - 1) * self.size as i64 + self.skip
    }

    pub fn limit(&self) -> i64 {
        self.size as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        let p = Page::new(None, None, 10, 50).unwrap();
        assert_eq!((p.number, p.size, p.offset()), (1, 10, 0));
        assert_eq!(Page::new(Some(3), Some(20), 10, 50).unwrap().offset(), 40);
        assert_eq!(
            Page::new(Some(0), None, 10, 50).unwrap_err().code,
            "InvalidPageNumber.Malformed"
        );
        assert_eq!(
            Page::new(None, Some(51), 10, 50).unwrap_err().code,
            "InvalidPageSize.Malformed"
        );
    }

    #[test]
    fn windows() {
        let w = Page::window(Some(3), Some(2), 20, 100).unwrap();
        assert_eq!((w.offset(), w.limit()), (3, 2));
        assert_eq!(Page::window(None, None, 20, 100).unwrap().limit(), 20);
        for (o, l) in [(Some(-1), None), (None, Some(0)), (None, Some(101))] {
            assert_eq!(
                Page::window(o, l, 20, 100).unwrap_err().code,
                "InvalidParameterValue.Range"
            );
        }
    }
}
