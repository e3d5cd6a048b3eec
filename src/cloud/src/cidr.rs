//! IPv4 CIDR blocks: strict parsing, containment, overlap, and the address plan of a VSwitch
//! (which addresses are reserved, which one is the gateway, which ones instances may get).
//!
//! Parsing is strict on purpose: a block is stored and compared as written, so `10.0.0.1/8`
//! (host bits set), `010.0.0.0/8` (leading zero, which some parsers read as octal), ` 10.0.0.0/8`
//! (whitespace) or `10.0.0.0` (no prefix) are refused rather than silently normalised.

use std::fmt;
use std::net::Ipv4Addr;

/// A network address and prefix length; the host bits of `network` are always zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    network: u32,
    prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n`. The error says what is wrong with the text.
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let (addr, prefix) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?} is not in the form a.b.c.d/n"))?;
        let address = parse_address(addr).ok_or_else(|| {
            format!("{addr:?} is not an IPv4 address of four decimal octets 0-255 without leading zeros")
        })?;
        let prefix = parse_decimal(prefix)
            .filter(|p| *p <= 32)
            .ok_or_else(|| format!("{prefix:?} is not a prefix length from 0 to 32"))?
            as u8;
        let cidr = Cidr {
            network: address & mask(prefix),
            prefix,
        };
        if cidr.network != address {
            return Err(format!(
                "{text:?} has host bits set: the network address of a /{prefix} containing it is {}",
                Ipv4Addr::from(cidr.network)
            ));
        }
        Ok(cidr)
    }

    /// A block from a network address and prefix; `None` if host bits are set or prefix > 32.
    pub fn new(network: Ipv4Addr, prefix: u8) -> Option<Cidr> {
        let network = u32::from(network);
        (prefix <= 32 && network & mask(prefix) == network).then_some(Cidr { network, prefix })
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The first address of the block (the network address).
    pub fn first(&self) -> u32 {
        self.network
    }

    /// The last address of the block (the broadcast address).
    pub fn last(&self) -> u32 {
        self.network | !mask(self.prefix)
    }

    /// How many addresses the block holds (2^(32-prefix)).
    pub fn size(&self) -> u64 {
        1u64 << (32 - self.prefix as u32)
    }

    pub fn contains_addr(&self, addr: u32) -> bool {
        addr & mask(self.prefix) == self.network
    }

    /// True when every address of `other` is in `self` (a block contains itself).
    pub fn contains(&self, other: &Cidr) -> bool {
        self.prefix <= other.prefix && self.contains_addr(other.network)
    }

    /// True when the blocks share at least one address.
    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.contains(other) || other.contains(self)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.network), self.prefix)
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix as u32)
    }
}

/// A decimal number of 1–3 digits without a leading zero (a lone `0` is fine).
fn parse_decimal(text: &str) -> Option<u32> {
    let ok = !text.is_empty()
        && text.len() <= 3
        && text.bytes().all(|b| b.is_ascii_digit())
        && !(text.len() > 1 && text.starts_with('0'));
    if ok {
        text.parse().ok()
    } else {
        None
    }
}

fn parse_address(text: &str) -> Option<u32> {
    let mut octets = text.split('.');
    let mut value = 0u32;
    for _ in 0..4 {
        let octet = parse_decimal(octets.next()?).filter(|o| *o <= 255)?;
        value = value << 8 | octet;
    }
    octets.next().is_none().then_some(value)
}

// ---- The address plan of a VSwitch -------------------------------------------------------
//
// Reserved addresses of a VSwitch CIDR block (5 in all), the one rule hearth uses everywhere
// (AvailableIpAddressCount, the instance IP allocator, DHCP and the guest's default route):
//   - the network address (first address): it names the subnet, never a host;
//   - the gateway: the first usable address (network + 1), where hearth's virtual router answers;
//   - the last three addresses: Alibaba Cloud reserves them in every VSwitch (the last one is
//     the broadcast address), and clients written for it expect them never to be assigned.
// Instances get addresses from `usable` only: network + 2 up to last - 3.
// VSwitch blocks are /16 to /29, so there is always at least one usable address (a /29 has 3).

/// How many addresses at the end of a VSwitch block are reserved.
const RESERVED_AT_END: u32 = 3;

/// The gateway of a VSwitch block: the first address after the network address.
pub fn gateway(cidr: &Cidr) -> Ipv4Addr {
    Ipv4Addr::from(cidr.first().wrapping_add(1))
}

/// The addresses of a VSwitch block that are never given to an instance, in ascending order.
pub fn reserved(cidr: &Cidr) -> Vec<Ipv4Addr> {
    // u64 so that blocks at the top of the address space cannot overflow.
    let (first, last) = (cidr.first() as u64, cidr.last() as u64);
    let mut out = vec![first];
    if last > first {
        out.push(first + 1);
    }
    let tail_from = last
        .saturating_sub(RESERVED_AT_END as u64 - 1)
        .max(first + 2);
    out.extend(tail_from..=last);
    out.into_iter().map(|a| Ipv4Addr::from(a as u32)).collect()
}

/// The range instances may get addresses from (inclusive), or `None` when the block is too
/// small to have any (/30 and longer, which VSwitches never are).
pub fn usable(cidr: &Cidr) -> Option<(Ipv4Addr, Ipv4Addr)> {
    let first = cidr.first() as u64 + 2;
    let last = cidr.last() as u64 - RESERVED_AT_END as u64;
    (cidr.size() > 5 && first <= last)
        .then(|| (Ipv4Addr::from(first as u32), Ipv4Addr::from(last as u32)))
}

/// The number of addresses instances may get: the block's size minus the reserved ones.
pub fn available_count(cidr: &Cidr) -> u64 {
    match usable(cidr) {
        Some((a, b)) => u32::from(b) as u64 - u32::from(a) as u64 + 1,
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr {
        Cidr::parse(s).unwrap()
    }

    #[test]
    fn parses_valid_blocks() {
        let b = c("10.0.0.0/8");
        assert_eq!(b.to_string(), "10.0.0.0/8");
        assert_eq!(b.prefix(), 8);
        assert_eq!(b.size(), 1 << 24);
        assert_eq!(b.first(), u32::from(Ipv4Addr::new(10, 0, 0, 0)));
        assert_eq!(b.last(), u32::from(Ipv4Addr::new(10, 255, 255, 255)));
        assert_eq!(c("0.0.0.0/0").size(), 1 << 32);
        assert_eq!(c("192.168.1.7/32").size(), 1);
        assert_eq!(c("172.16.0.0/12").to_string(), "172.16.0.0/12");
        assert_eq!(c("255.255.255.255/32").last(), u32::MAX);
    }

    #[test]
    fn refuses_malformed_text() {
        for bad in [
            "",
            "10.0.0.0",
            "10.0.0.0/",
            "/8",
            "10.0.0/8",
            "10.0.0.0.0/8",
            "10.0.0.256/32",
            "300.0.0.0/8",
            "010.0.0.0/8",
            "10.00.0.0/16",
            "10.0.0.0/08",
            "10.0.0.0/33",
            "10.0.0.0/-1",
            "10.0.0.0/+8",
            " 10.0.0.0/8",
            "10.0.0.0/8 ",
            "10.0.0.0 /8",
            "10.0.0.0/ 8",
            "10..0.0/8",
            "a.b.c.d/8",
            "10.0.0.0/8/8",
            "1e1.0.0.0/8",
            "１0.0.0.0/8",
            "10.0.0.0/1000",
        ] {
            assert!(Cidr::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn refuses_host_bits_and_names_the_network() {
        let e = Cidr::parse("10.0.0.1/8").unwrap_err();
        assert!(e.contains("10.0.0.0"), "{e}");
        assert!(Cidr::parse("192.168.1.128/24").is_err());
        assert!(Cidr::parse("192.168.1.128/25").is_ok());
        assert!(Cidr::parse("172.17.0.0/12").is_err());
    }

    #[test]
    fn new_checks_host_bits() {
        assert!(Cidr::new(Ipv4Addr::new(10, 1, 0, 0), 16).is_some());
        assert!(Cidr::new(Ipv4Addr::new(10, 1, 0, 1), 16).is_none());
        assert!(Cidr::new(Ipv4Addr::new(10, 1, 0, 0), 33).is_none());
    }

    #[test]
    fn containment() {
        let vpc = c("172.16.0.0/12");
        assert!(vpc.contains(&vpc));
        assert!(vpc.contains(&c("172.16.0.0/16")));
        assert!(vpc.contains(&c("172.31.255.248/29")));
        assert!(!vpc.contains(&c("172.32.0.0/16")));
        assert!(!vpc.contains(&c("172.0.0.0/8")));
        assert!(!c("172.16.0.0/16").contains(&vpc));
        assert!(c("0.0.0.0/0").contains(&c("8.8.8.8/32")));
        assert!(vpc.contains_addr(u32::from(Ipv4Addr::new(172, 20, 1, 1))));
        assert!(!vpc.contains_addr(u32::from(Ipv4Addr::new(172, 32, 0, 0))));
    }

    #[test]
    fn overlap() {
        let a = c("10.0.0.0/24");
        assert!(a.overlaps(&a));
        assert!(a.overlaps(&c("10.0.0.128/25")));
        assert!(c("10.0.0.128/25").overlaps(&a));
        assert!(a.overlaps(&c("10.0.0.0/8")));
        assert!(!a.overlaps(&c("10.0.1.0/24")));
        assert!(!c("10.0.0.0/25").overlaps(&c("10.0.0.128/25")));
        // Adjacent at the edge of the address space.
        assert!(!c("255.255.255.254/31").overlaps(&c("255.255.255.252/31")));
    }

    #[test]
    fn vswitch_address_plan_of_a_slash_24() {
        let b = c("192.168.1.0/24");
        assert_eq!(gateway(&b), Ipv4Addr::new(192, 168, 1, 1));
        assert_eq!(
            reserved(&b),
            vec![
                Ipv4Addr::new(192, 168, 1, 0),
                Ipv4Addr::new(192, 168, 1, 1),
                Ipv4Addr::new(192, 168, 1, 253),
                Ipv4Addr::new(192, 168, 1, 254),
                Ipv4Addr::new(192, 168, 1, 255),
            ]
        );
        assert_eq!(
            usable(&b),
            Some((
                Ipv4Addr::new(192, 168, 1, 2),
                Ipv4Addr::new(192, 168, 1, 252)
            ))
        );
        assert_eq!(available_count(&b), 251);
    }

    #[test]
    fn vswitch_address_plan_is_consistent_for_every_vswitch_size() {
        for prefix in 16..=29u8 {
            let b = Cidr::new(Ipv4Addr::new(10, 0, 0, 0), prefix).unwrap();
            let reserved = reserved(&b);
            assert_eq!(reserved.len(), 5, "/{prefix}");
            assert_eq!(available_count(&b), b.size() - 5, "/{prefix}");
            let (lo, hi) = usable(&b).unwrap();
            // The gateway is reserved, and no reserved address is usable.
            assert!(reserved.contains(&gateway(&b)));
            for r in &reserved {
                let r = u32::from(*r);
                assert!(r < u32::from(lo) || r > u32::from(hi), "/{prefix}");
                assert!(b.contains_addr(r));
            }
        }
        let smallest = c("10.0.0.8/29");
        assert_eq!(
            usable(&smallest),
            Some((Ipv4Addr::new(10, 0, 0, 10), Ipv4Addr::new(10, 0, 0, 12)))
        );
        assert_eq!(available_count(&smallest), 3);
    }

    #[test]
    fn tiny_blocks_do_not_panic() {
        for s in [
            "10.0.0.0/30",
            "10.0.0.0/31",
            "10.0.0.0/32",
            "255.255.255.255/32",
        ] {
            let b = c(s);
            assert_eq!(usable(&b), None, "{s}");
            assert_eq!(available_count(&b), 0);
            let r = reserved(&b);
            assert!(r.len() as u64 <= b.size(), "{s}: {r:?}");
        }
    }
}
