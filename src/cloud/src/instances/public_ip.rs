//! AllocatePublicIpAddress: an address from `[network] public_ip_pool` for one instance, DNATed
//! to its private IP (and its SNAT source) by the host network once the transaction is applied.
//!
//! Which addresses of the pool are given out: every address of the block except its network
//! and broadcast addresses (the first and the last), which routers and hosts on the uplink
//! treat specially. A /31 or /32 pool has no such addresses (RFC 3021), so all of it is used.
//! Without IpAddress, the lowest free usable address is chosen, so allocation is predictable.
//!
//! Error codes are those of the ECS AllocatePublicIpAddress reference: `IncorrectInstanceStatus`
//! (403), `AllocatedAlready` (403), `IpInUse` (403), `InvalidIpAddress.Malformed` (400),
//! `InvalidIpAddress.NotFound` (404, ECS: "the specified IP is not in the specified vlan"; here:
//! not a usable address of the pool) and `InsufficientPublicIp` (400, ECS: "Ip address not
//! found"), which hearth answers both when no pool is configured and when every address of the
//! pool is taken: in both cases there is no address to give.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use hearth_store::instances as store;
use hearth_store::public_ips;

use super::{not_found, Status};
use crate::cidr::Cidr;
use crate::{Cloud, Error, Result};

/// The first and last address instances may be given from `pool` (inclusive).
pub fn usable_range(pool: &Cidr) -> (u32, u32) {
    if pool.prefix() >= 31 {
        (pool.first(), pool.last())
    } else {
        (pool.first() + 1, pool.last() - 1)
    }
}

/// Whether `addr` may be given out from `pool`.
pub fn is_usable(pool: &Cidr, addr: Ipv4Addr) -> bool {
    let (lo, hi) = usable_range(pool);
    (lo..=hi).contains(&u32::from(addr))
}

/// The lowest usable address of `pool` not in `taken`, if any.
pub fn choose(pool: &Cidr, taken: &HashSet<Ipv4Addr>) -> Option<Ipv4Addr> {
    let (lo, hi) = usable_range(pool);
    (lo..=hi).map(Ipv4Addr::from).find(|a| !taken.contains(a))
}

/// Parses IpAddress strictly: four decimal octets, no leading zeros, nothing else.
pub fn parse_requested(text: &str) -> Result<Ipv4Addr> {
    text.parse::<Ipv4Addr>()
        .ok()
        .filter(|a| a.to_string() == text)
        .ok_or_else(|| {
            Error::bad_request(
                "InvalidIpAddress.Malformed",
                format!("The specified parameter \"IpAddress\" is not valid: {text:?} is not an IPv4 address a.b.c.d."),
            )
        })
}

fn insufficient(why: &str) -> Error {
    Error::bad_request(
        "InsufficientPublicIp",
        format!("Ip address not found: {why}"),
    )
}

/// The configured pool, or `InsufficientPublicIp` when there is none.
fn pool(cloud: &Cloud) -> Result<Cidr> {
    let text = cloud
        .config
        .network
        .public_ip_pool
        .as_deref()
        .ok_or_else(|| {
            insufficient(
                "this host has no public IP pool ([network] public_ip_pool in hearth.toml).",
            )
        })?;
    // Validated when the configuration was loaded; a failure here is a bug, not bad input.
    Cidr::parse(text).map_err(Error::internal)
}

/// Gives the instance a public IP (the one asked for, or the lowest free one) and returns it.
/// Checks, the insert and the host network's apply happen in one write transaction: a refused
/// apply leaves neither the row nor a DNAT behind.
pub async fn allocate(
    cloud: &Cloud,
    region_id: &str,
    instance_id: &str,
    requested: Option<&str>,
) -> Result<String> {
    cloud.check_region(region_id)?;
    let requested = requested.map(parse_requested).transpose()?;
    let mut tx = cloud.store.write().await?;
    let i = match store::get(&mut tx, instance_id).await? {
        Some(i) if i.region_id == region_id => i,
        _ => return Err(not_found(instance_id)),
    };
    if i.status != Status::Running && i.status != Status::Stopped {
        return Err(Error::forbidden(
            "IncorrectInstanceStatus",
            format!("The current status of the resource does not support this operation: AllocatePublicIpAddress needs the instance {instance_id} to be Running or Stopped, it is {}.", i.status),
        ));
    }
    if let Some(have) = public_ips::of_instance(&mut tx, instance_id).await? {
        return Err(Error::forbidden(
            "AllocatedAlready",
            format!("There is an IpAddress allocated already for the specified instance: {instance_id} has {have}."),
        ));
    }
    let pool = pool(cloud)?;
    let address = match requested {
        Some(a) => {
            if !is_usable(&pool, a) {
                return Err(Error::not_found(
                    "InvalidIpAddress.NotFound",
                    format!("The specified IpAddress {a} is not in this host's public IP pool {pool} (its network and broadcast addresses are not given out)."),
                ));
            }
            if public_ips::in_use(&mut tx, &a.to_string()).await? {
                return Err(Error::forbidden(
                    "IpInUse",
                    format!("The specified IP is already in use: {a} belongs to another instance."),
                ));
            }
            a
        }
        None => {
            let taken: HashSet<Ipv4Addr> = public_ips::all_addresses(&mut tx)
                .await?
                .iter()
                .filter_map(|a| a.parse().ok())
                .collect();
            choose(&pool, &taken).ok_or_else(|| {
                insufficient(&format!(
                    "every address of the public IP pool {pool} is allocated."
                ))
            })?
        }
    };
    let address = address.to_string();
    public_ips::insert(&mut tx, &address, instance_id).await?;
    crate::host::commit_with_network(cloud, tx).await?;
    Ok(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(t: &str) -> Cidr {
        Cidr::parse(t).unwrap()
    }

    fn ip(t: &str) -> Ipv4Addr {
        t.parse().unwrap()
    }

    #[test]
    fn network_and_broadcast_are_never_given() {
        let pool = cidr("203.0.113.0/28");
        assert!(!is_usable(&pool, ip("203.0.113.0")));
        assert!(is_usable(&pool, ip("203.0.113.1")));
        assert!(is_usable(&pool, ip("203.0.113.14")));
        assert!(!is_usable(&pool, ip("203.0.113.15")));
        assert!(!is_usable(&pool, ip("203.0.113.16")));
        assert!(!is_usable(&pool, ip("198.51.100.1")));
    }

    #[test]
    fn tiny_pools_use_every_address() {
        let p31 = cidr("203.0.113.4/31");
        assert!(is_usable(&p31, ip("203.0.113.4")) && is_usable(&p31, ip("203.0.113.5")));
        let p32 = cidr("203.0.113.9/32");
        assert_eq!(choose(&p32, &HashSet::new()), Some(ip("203.0.113.9")));
        assert_eq!(choose(&p32, &HashSet::from([ip("203.0.113.9")])), None);
        let p30 = cidr("203.0.113.8/30");
        assert_eq!(
            usable_range(&p30),
            (u32::from(ip("203.0.113.9")), u32::from(ip("203.0.113.10")))
        );
    }

    #[test]
    fn the_lowest_free_address_is_chosen_until_the_pool_is_exhausted() {
        let pool = cidr("203.0.113.0/29");
        let mut taken = HashSet::new();
        assert_eq!(choose(&pool, &taken), Some(ip("203.0.113.1")));
        taken.insert(ip("203.0.113.1"));
        taken.insert(ip("203.0.113.3"));
        assert_eq!(choose(&pool, &taken), Some(ip("203.0.113.2")));
        for n in 1..=6 {
            taken.insert(ip(&format!("203.0.113.{n}")));
        }
        assert_eq!(choose(&pool, &taken), None, "6 usable addresses in a /29");
        // An address outside the pool does not count against it.
        taken.remove(&ip("203.0.113.5"));
        taken.insert(ip("198.51.100.5"));
        assert_eq!(choose(&pool, &taken), Some(ip("203.0.113.5")));
    }

    #[test]
    fn requested_addresses_are_parsed_strictly() {
        assert_eq!(parse_requested("203.0.113.5").unwrap(), ip("203.0.113.5"));
        for bad in [
            "",
            "203.0.113",
            "203.0.113.256",
            "203.0.113.05",
            " 203.0.113.5",
            "203.0.113.5/32",
            "::1",
            "x",
        ] {
            let e = parse_requested(bad).unwrap_err();
            assert_eq!(
                (e.code.as_str(), e.status),
                ("InvalidIpAddress.Malformed", 400),
                "{bad:?}"
            );
        }
    }
}
