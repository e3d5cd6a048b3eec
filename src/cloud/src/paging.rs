//! ECS paging: PageNumber (from 1) and PageSize, with per-action maximum page sizes.

use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub number: u32,
    pub size: u32,
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
        })
    }

    pub fn offset(&self) -> i64 {
        (self.number as i64 - 1) * self.size as i64
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
}
