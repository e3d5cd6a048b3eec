//! Instance records, their security-group membership, and the queries the instance rules need
//! (addresses in use, MACs in use, capacity in use, listings).

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::columns::{insert_sql, select_list, Insert};
use crate::page::{tagged_page, Page, Tagged, TaggedQuery};
use crate::query::{by_key, execute, next_seq, rows_in, Where};
use crate::row::record;
use crate::state::{Intent, Status};
use crate::tags::Tag;
use crate::Conn;

/// The tag resource type of instances.
pub const TAG_TYPE: &str = "instance";

const TABLE: &str = "instances";

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Instance {
    pub id: String,
    pub region_id: String,
    pub zone_id: String,
    pub instance_type: String,
    pub vcpus: i64,
    pub memory_mib: i64,
    pub image_id: String,
    pub os_type: String,
    pub hostname: String,
    pub name: String,
    pub description: String,
    pub vpc_id: String,
    pub vswitch_id: String,
    pub private_ip: String,
    pub mac: String,
    pub key_pair_name: String,
    pub password_hash: String,
    pub user_data: String,
    pub status: Status,
    pub intent: Option<Intent>,
    pub stopped_mode: String,
    pub deletion_protection: bool,
    pub auto_release_time: String,
    pub instance_charge_type: String,
    pub internet_charge_type: String,
    pub internet_max_bandwidth_in: i64,
    pub internet_max_bandwidth_out: i64,
    pub period: i64,
    pub period_unit: String,
    pub auto_renew: bool,
    pub auto_renew_period: i64,
    pub spot_strategy: String,
    pub spot_price_limit: String,
    pub spot_duration: i64,
    pub spot_interruption_behavior: String,
    pub io_optimized: String,
    pub credit_specification: String,
    pub security_enhancement: String,
    pub resource_group_id: String,
    pub http_endpoint: String,
    pub http_tokens: String,
    pub http_put_hop_limit: i64,
    pub metadata_tags: String,
    pub creation_time: String,
    pub start_time: String,
    /// The last launch failed and the instance never ran (CVM's LAUNCH_FAILED).
    pub launch_failed: bool,
    /// The host it lives on ('' for an instance recorded before hosts existed).
    pub host_id: String,
}

/// The columns of `instances`, in bind order (`seq` first: listings order and page by it).
const COLUMNS: &str = "seq, id, region_id, zone_id, instance_type, vcpus, memory_mib, image_id, os_type, hostname, name, description, vpc_id, vswitch_id, private_ip, mac, key_pair_name, password_hash, user_data, status, intent, stopped_mode, deletion_protection, auto_release_time, instance_charge_type, internet_charge_type, internet_max_bandwidth_in, internet_max_bandwidth_out, period, period_unit, auto_renew, auto_renew_period, spot_strategy, spot_price_limit, spot_duration, spot_interruption_behavior, io_optimized, credit_specification, security_enhancement, resource_group_id, http_endpoint, http_tokens, http_put_hop_limit, metadata_tags, creation_time, start_time, launch_failed, host_id";

fn from_row(r: &AnyRow) -> crate::Result<Instance> {
    Ok(record!(r => Instance {
        id, region_id, zone_id, instance_type, vcpus, memory_mib, image_id, os_type, hostname,
        name, description, vpc_id, vswitch_id, private_ip, mac, key_pair_name, password_hash,
        user_data, status, intent, stopped_mode, deletion_protection, auto_release_time,
        instance_charge_type, internet_charge_type, internet_max_bandwidth_in,
        internet_max_bandwidth_out, period, period_unit, auto_renew, auto_renew_period,
        spot_strategy, spot_price_limit, spot_duration, spot_interruption_behavior, io_optimized,
        credit_specification, security_enhancement, resource_group_id, http_endpoint, http_tokens,
        http_put_hop_limit, metadata_tags, creation_time, start_time, launch_failed, host_id,
    }))
}

/// Inserts an instance with its security groups (in the given order).
pub async fn insert(conn: &mut Conn, i: &Instance, groups: &[String]) -> crate::Result<()> {
    let seq = next_seq(conn, TABLE).await?;
    let sql = insert_sql(TABLE, COLUMNS);
    Insert::new(&sql, COLUMNS)
        .bind(seq)
        .bind(&i.id)
        .bind(&i.region_id)
        .bind(&i.zone_id)
        .bind(&i.instance_type)
        .bind(i.vcpus)
        .bind(i.memory_mib)
        .bind(&i.image_id)
        .bind(&i.os_type)
        .bind(&i.hostname)
        .bind(&i.name)
        .bind(&i.description)
        .bind(&i.vpc_id)
        .bind(&i.vswitch_id)
        .bind(&i.private_ip)
        .bind(&i.mac)
        .bind(&i.key_pair_name)
        .bind(&i.password_hash)
        .bind(&i.user_data)
        .bind(i.status.as_str())
        .bind(i.intent.map(Intent::as_str))
        .bind(&i.stopped_mode)
        .bind(i.deletion_protection as i64)
        .bind(&i.auto_release_time)
        .bind(&i.instance_charge_type)
        .bind(&i.internet_charge_type)
        .bind(i.internet_max_bandwidth_in)
        .bind(i.internet_max_bandwidth_out)
        .bind(i.period)
        .bind(&i.period_unit)
        .bind(i.auto_renew as i64)
        .bind(i.auto_renew_period)
        .bind(&i.spot_strategy)
        .bind(&i.spot_price_limit)
        .bind(i.spot_duration)
        .bind(&i.spot_interruption_behavior)
        .bind(&i.io_optimized)
        .bind(&i.credit_specification)
        .bind(&i.security_enhancement)
        .bind(&i.resource_group_id)
        .bind(&i.http_endpoint)
        .bind(&i.http_tokens)
        .bind(i.http_put_hop_limit)
        .bind(&i.metadata_tags)
        .bind(&i.creation_time)
        .bind(&i.start_time)
        .bind(i.launch_failed as i64)
        .bind(&i.host_id)
        .execute(conn)
        .await?;
    set_groups(conn, &i.id, groups).await
}

/// Replaces the instance's security groups.
pub async fn set_groups(
    conn: &mut Conn,
    instance_id: &str,
    groups: &[String],
) -> crate::Result<()> {
    execute(
        conn,
        "DELETE FROM instance_security_groups WHERE instance_id = $1",
        &[instance_id],
    )
    .await?;
    for (n, g) in groups.iter().enumerate() {
        sqlx::query("INSERT INTO instance_security_groups (instance_id, security_group_id, position) VALUES ($1, $2, $3)")
            .bind(instance_id)
            .bind(g)
            .bind(n as i64)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Adds one security group after the instance's others (JoinSecurityGroup keeps the order).
pub async fn add_group(conn: &mut Conn, instance_id: &str, group_id: &str) -> crate::Result<()> {
    let row = sqlx::query("SELECT CAST(COALESCE(MAX(position), -1) AS BIGINT) AS last FROM instance_security_groups WHERE instance_id = $1")
        .bind(instance_id)
        .fetch_one(&mut *conn)
        .await?;
    let last: i64 = row.try_get("last")?;
    sqlx::query("INSERT INTO instance_security_groups (instance_id, security_group_id, position) VALUES ($1, $2, $3)")
        .bind(instance_id)
        .bind(group_id)
        .bind(last + 1)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Removes one security group from the instance; the others keep their order.
pub async fn remove_group(conn: &mut Conn, instance_id: &str, group_id: &str) -> crate::Result<()> {
    execute(
        conn,
        "DELETE FROM instance_security_groups WHERE instance_id = $1 AND security_group_id = $2",
        &[instance_id, group_id],
    )
    .await?;
    Ok(())
}

pub async fn get(conn: &mut Conn, id: &str) -> crate::Result<Option<Instance>> {
    by_key(conn, TABLE, COLUMNS, "id", id, from_row).await
}

/// The security groups of one instance, in the order they were given.
pub async fn groups_of(conn: &mut Conn, instance_id: &str) -> crate::Result<Vec<String>> {
    let rows = sqlx::query("SELECT security_group_id FROM instance_security_groups WHERE instance_id = $1 ORDER BY position")
        .bind(instance_id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| r.try_get("security_group_id"))
        .collect()
}

/// An instance's place in a security group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub instance_id: String,
    pub security_group_id: String,
}

/// The security groups of the given instances, by instance then the instance's order; one query.
pub async fn groups_of_many(conn: &mut Conn, ids: &[String]) -> crate::Result<Vec<Membership>> {
    let sql = "SELECT instance_id, security_group_id FROM instance_security_groups WHERE instance_id IN ({in}) ORDER BY instance_id, position";
    let rows = rows_in(conn, sql, ids).await?;
    rows.iter()
        .map(|r| {
            Ok(Membership {
                instance_id: r.try_get("instance_id")?,
                security_group_id: r.try_get("security_group_id")?,
            })
        })
        .collect()
}

/// IDs of the instances in a security group.
pub async fn in_group(conn: &mut Conn, group_id: &str) -> crate::Result<Vec<String>> {
    let rows = sqlx::query("SELECT instance_id FROM instance_security_groups WHERE security_group_id = $1 ORDER BY instance_id")
        .bind(group_id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| r.try_get("instance_id")).collect()
}

/// How many instances each of the given security groups holds (groups without any are absent).
pub async fn count_in_groups(
    conn: &mut Conn,
    group_ids: &[String],
) -> crate::Result<std::collections::HashMap<String, i64>> {
    let sql = "SELECT security_group_id, COUNT(*) AS n FROM instance_security_groups WHERE security_group_id IN ({in}) GROUP BY security_group_id";
    let mut out = std::collections::HashMap::new();
    for r in rows_in(conn, sql, group_ids).await? {
        out.insert(r.try_get("security_group_id")?, r.try_get("n")?);
    }
    Ok(out)
}

/// IDs of the instances in a VSwitch.
pub async fn in_vswitch(conn: &mut Conn, vswitch_id: &str) -> crate::Result<Vec<String>> {
    let rows = sqlx::query("SELECT id FROM instances WHERE vswitch_id = $1 ORDER BY seq")
        .bind(vswitch_id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| r.try_get("id")).collect()
}

/// The private addresses in use in a VSwitch.
pub async fn addresses_in_vswitch(conn: &mut Conn, vswitch_id: &str) -> crate::Result<Vec<String>> {
    let rows = sqlx::query("SELECT private_ip FROM instances WHERE vswitch_id = $1")
        .bind(vswitch_id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| r.try_get("private_ip")).collect()
}

pub async fn mac_in_use(conn: &mut Conn, mac: &str) -> crate::Result<bool> {
    Ok(sqlx::query("SELECT 1 FROM instances WHERE mac = $1")
        .bind(mac)
        .fetch_optional(&mut *conn)
        .await?
        .is_some())
}

/// An amount of vCPUs and guest memory: what a host offers, what instances hold, what one needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Resources {
    pub vcpus: i64,
    pub memory_mib: i64,
}

/// Sets status and intent together (the supervisor contract).
pub async fn set_state(
    conn: &mut Conn,
    id: &str,
    status: Status,
    intent: Option<Intent>,
) -> crate::Result<()> {
    sqlx::query("UPDATE instances SET status = $2, intent = $3 WHERE id = $1")
        .bind(id)
        .bind(status.as_str())
        .bind(intent.map(Intent::as_str))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The supervisor's half of the contract: the instance reached `status` and the intent it acted
/// on (`acted_on`, None for none) is done, so the intent is cleared; `start_time` is recorded when
/// given (on reaching Running). Nothing changes if the API recorded another intent meanwhile (a
/// Stop during Starting): returns whether the instance was settled.
pub async fn settle(
    conn: &mut Conn,
    id: &str,
    status: Status,
    start_time: Option<&str>,
    acted_on: Option<Intent>,
) -> crate::Result<bool> {
    // Reaching Running ends a failed launch.
    let done = sqlx::query("UPDATE instances SET status = $2, intent = NULL, start_time = COALESCE($3, start_time), launch_failed = CASE WHEN $2 = 'Running' THEN 0 ELSE launch_failed END WHERE id = $1 AND COALESCE(intent, '') = COALESCE($4, '')")
        .bind(id)
        .bind(status.as_str())
        .bind(start_time)
        .bind(acted_on.map(Intent::as_str))
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Records that a launch failed, if the instance never ran (a start time is set on reaching
/// Running, so an instance that ran before and failed to start again is just Stopped).
pub async fn mark_launch_failed(conn: &mut Conn, id: &str) -> crate::Result<()> {
    execute(
        conn,
        "UPDATE instances SET launch_failed = 1 WHERE id = $1 AND start_time = ''",
        &[id],
    )
    .await?;
    Ok(())
}

pub async fn set_stopped_mode(conn: &mut Conn, id: &str, mode: &str) -> crate::Result<()> {
    execute(
        conn,
        "UPDATE instances SET stopped_mode = $2 WHERE id = $1",
        &[id, mode],
    )
    .await?;
    Ok(())
}

/// Writes back the attributes ModifyInstanceAttribute and ModifyInstanceMetadataOptions change.
pub async fn update_attributes(conn: &mut Conn, i: &Instance) -> crate::Result<()> {
    sqlx::query("UPDATE instances SET name = $2, description = $3, hostname = $4, password_hash = $5, user_data = $6, deletion_protection = $7, credit_specification = $8, http_endpoint = $9, http_tokens = $10, http_put_hop_limit = $11, metadata_tags = $12 WHERE id = $1")
        .bind(&i.id)
        .bind(&i.name)
        .bind(&i.description)
        .bind(&i.hostname)
        .bind(&i.password_hash)
        .bind(&i.user_data)
        .bind(i.deletion_protection as i64)
        .bind(&i.credit_specification)
        .bind(&i.http_endpoint)
        .bind(&i.http_tokens)
        .bind(i.http_put_hop_limit)
        .bind(&i.metadata_tags)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deletes the instance row, its memberships, its tags and its public IP (which goes back to
/// the pool in the same transaction).
pub async fn delete(conn: &mut Conn, id: &str) -> crate::Result<()> {
    crate::public_ips::release_of_instance(conn, id).await?;
    crate::consoles::delete(conn, id).await?;
    execute(
        conn,
        "DELETE FROM instance_security_groups WHERE instance_id = $1",
        &[id],
    )
    .await?;
    crate::tags::delete_all(conn, TAG_TYPE, id).await?;
    execute(conn, "DELETE FROM instances WHERE id = $1", &[id]).await?;
    Ok(())
}

/// Moves a VSwitch's free-address count by `delta` (an instance took or gave back an address).
pub async fn adjust_vswitch_free(
    conn: &mut Conn,
    vswitch_id: &str,
    delta: i64,
) -> crate::Result<()> {
    sqlx::query(
        "UPDATE vswitches SET available_ip_count = available_ip_count + $2 WHERE vswitch_id = $1",
    )
    .bind(vswitch_id)
    .bind(delta)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The public key of a key pair, if the key pair exists.
pub async fn key_pair_public_key(conn: &mut Conn, name: &str) -> crate::Result<Option<String>> {
    let row = sqlx::query("SELECT public_key FROM key_pairs WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| r.try_get("public_key")).transpose()
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub region_id: String,
    /// `Some(empty)` matches nothing.
    pub ids: Option<Vec<String>>,
    pub zone_id: Option<String>,
    pub vpc_id: Option<String>,
    pub vswitch_id: Option<String>,
    pub status: Option<String>,
    pub name: Option<String>,
    pub instance_type: Option<String>,
    pub image_id: Option<String>,
    pub key_pair_name: Option<String>,
    pub private_ips: Option<Vec<String>>,
    pub instance_charge_type: Option<String>,
    pub resource_group_id: Option<String>,
    pub tags: Vec<Tag>,
    /// Pending intents to match, `""` for none (CVM tells STOPPING, REBOOTING and TERMINATING
    /// apart by the intent behind hearth's one Stopping status).
    pub intents: Option<Vec<String>>,
    /// Spot strategies to match (CVM tells SPOTPAID from POSTPAID_BY_HOUR by them).
    pub spot_strategies: Option<Vec<String>>,
    /// Whether the last launch failed (CVM tells LAUNCH_FAILED from STOPPED by it).
    pub launch_failed: Option<bool>,
}

fn where_of(f: &Filter) -> Where {
    let mut w = Where::default();
    w.eq("region_id", &f.region_id);
    if let Some(ids) = &f.ids {
        w.any_of("id", ids);
    }
    w.eq_given(&[
        ("zone_id", &f.zone_id),
        ("vpc_id", &f.vpc_id),
        ("vswitch_id", &f.vswitch_id),
        ("status", &f.status),
        ("name", &f.name),
        ("instance_type", &f.instance_type),
        ("image_id", &f.image_id),
        ("key_pair_name", &f.key_pair_name),
        ("instance_charge_type", &f.instance_charge_type),
        ("resource_group_id", &f.resource_group_id),
    ]);
    if let Some(ips) = &f.private_ips {
        w.any_of("private_ip", ips);
    }
    if let Some(intents) = &f.intents {
        w.any_of("COALESCE(intent, '')", intents);
    }
    if let Some(spot) = &f.spot_strategies {
        w.any_of("spot_strategy", spot);
    }
    if let Some(failed) = f.launch_failed {
        w.eq_int("launch_failed", failed as i64);
    }
    w.tags(TAG_TYPE, "id", &f.tags);
    w
}

/// One page of matching instances (in creation order) with their tags, and the total.
/// `after` continues a NextToken listing after that `seq`.
pub async fn list(
    conn: &mut Conn,
    filter: &Filter,
    after: Option<i64>,
    offset: i64,
    limit: i64,
) -> crate::Result<Page<Tagged<Instance>>> {
    let filter = where_of(filter);
    let q = TaggedQuery {
        table: TABLE,
        select: select_list(COLUMNS),
        tag_type: TAG_TYPE,
        id_column: "id",
        total: filter.count_sql(TABLE),
        filter,
    };
    tagged_page(conn, &q, after, offset, limit, from_row).await
}

/// An instance's ID with its status and intent: what the supervisor works from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub id: String,
    pub status: Status,
    pub intent: Option<Intent>,
}

fn state_from_row(r: &AnyRow) -> crate::Result<State> {
    Ok(record!(r => State { id, status, intent }))
}

/// The instances on `host_id` with an intent, for its supervisor, in creation order.
pub async fn with_intent(conn: &mut Conn, host_id: &str) -> crate::Result<Vec<State>> {
    let rows = sqlx::query(
        "SELECT id, status, intent FROM instances WHERE intent IS NOT NULL AND host_id = $1 ORDER BY seq",
    )
    .bind(host_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(state_from_row).collect()
}

/// IDs of instances whose AutoReleaseTime is at or before `now` (both `YYYY-MM-DDTHH:MM:SSZ`, so
/// text order is time order), on `host_id`, and not already being deleted.
pub async fn due_for_release(
    conn: &mut Conn,
    host_id: &str,
    now: &str,
) -> crate::Result<Vec<String>> {
    let rows = sqlx::query("SELECT id FROM instances WHERE auto_release_time <> '' AND auto_release_time <= $1 AND (intent IS NULL OR intent <> 'delete') AND host_id = $2 ORDER BY seq")
        .bind(now)
        .bind(host_id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| r.try_get("id")).collect()
}

/// Every instance on `host_id`: what a restarted supervisor looks for VMMs of (an instance
/// marked Stopped while its host was silent may still have one).
pub async fn on_host(conn: &mut Conn, host_id: &str) -> crate::Result<Vec<State>> {
    let rows =
        sqlx::query("SELECT id, status, intent FROM instances WHERE host_id = $1 ORDER BY seq")
            .bind(host_id)
            .fetch_all(&mut *conn)
            .await?;
    rows.iter().map(state_from_row).collect()
}

/// Where an instance is: its VPC, its host and its address (the overlay's input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub vpc_id: String,
    pub host_id: String,
    pub private_ip: String,
}

/// Every instance's placement, in creation order.
pub async fn placements(conn: &mut Conn) -> crate::Result<Vec<Placement>> {
    let rows = sqlx::query("SELECT vpc_id, host_id, private_ip FROM instances ORDER BY seq")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| Ok(record!(r => Placement { vpc_id, host_id, private_ip })))
        .collect()
}

/// One instance NIC as the host network needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nic {
    pub instance_id: String,
    pub mac: String,
    pub private_ip: String,
    pub vswitch_id: String,
    /// Security groups in the instance's order.
    pub groups: Vec<String>,
    /// The address AllocatePublicIpAddress gave it, if any.
    pub public_ip: Option<String>,
}

/// Every instance's NIC with its security groups and public IP (two queries, whatever the count).
pub async fn nics(conn: &mut Conn) -> crate::Result<Vec<Nic>> {
    let rows = sqlx::query("SELECT i.id, i.mac, i.private_ip, i.vswitch_id, p.address FROM instances i LEFT JOIN public_ips p ON p.instance_id = i.id ORDER BY i.seq")
        .fetch_all(&mut *conn)
        .await?;
    let mut nics = rows
        .iter()
        .map(|r| {
            Ok(Nic {
                instance_id: r.try_get("id")?,
                mac: r.try_get("mac")?,
                private_ip: r.try_get("private_ip")?,
                vswitch_id: r.try_get("vswitch_id")?,
                groups: Vec::new(),
                public_ip: r.try_get("address")?,
            })
        })
        .collect::<crate::Result<Vec<Nic>>>()?;
    let rows = sqlx::query(
        "SELECT instance_id, security_group_id FROM instance_security_groups ORDER BY instance_id, position",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut by_instance: std::collections::HashMap<String, Vec<String>> =
        std::collections::HashMap::new();
    for r in &rows {
        by_instance
            .entry(r.try_get("instance_id")?)
            .or_default()
            .push(r.try_get("security_group_id")?);
    }
    for nic in &mut nics {
        nic.groups = by_instance.remove(&nic.instance_id).unwrap_or_default();
    }
    Ok(nics)
}

/// What the metadata service tells an instance about itself (see hearth_net::desired).
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataRecord {
    pub instance_id: String,
    pub hostname: String,
    pub instance_type: String,
    pub image_id: String,
    pub mac: String,
    pub private_ip: String,
    pub region_id: String,
    pub zone_id: String,
    pub vpc_id: String,
    pub vswitch_id: String,
    pub vswitch_cidr: String,
    /// The key pair's public key, when the instance has one that still exists.
    pub public_key: Option<String>,
    /// As given (Base64), '' when none.
    pub user_data: String,
    pub http_endpoint: String,
    pub http_tokens: String,
}

/// Every instance's metadata record, with its VSwitch's CIDR and key pair's public key (one query).
pub async fn metadata_records(conn: &mut Conn) -> crate::Result<Vec<MetadataRecord>> {
    let rows = sqlx::query(
        "SELECT i.id, i.hostname, i.instance_type, i.image_id, i.mac, i.private_ip, i.region_id, \
                i.zone_id, i.vpc_id, i.vswitch_id, v.cidr_block, k.public_key, i.user_data, \
                i.http_endpoint, i.http_tokens \
         FROM instances i JOIN vswitches v ON v.vswitch_id = i.vswitch_id \
         LEFT JOIN key_pairs k ON k.name = i.key_pair_name AND i.key_pair_name <> '' \
         ORDER BY i.seq",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(MetadataRecord {
                instance_id: r.try_get("id")?,
                hostname: r.try_get("hostname")?,
                instance_type: r.try_get("instance_type")?,
                image_id: r.try_get("image_id")?,
                mac: r.try_get("mac")?,
                private_ip: r.try_get("private_ip")?,
                region_id: r.try_get("region_id")?,
                zone_id: r.try_get("zone_id")?,
                vpc_id: r.try_get("vpc_id")?,
                vswitch_id: r.try_get("vswitch_id")?,
                vswitch_cidr: r.try_get("cidr_block")?,
                public_key: r.try_get("public_key")?,
                user_data: r.try_get("user_data")?,
                http_endpoint: r.try_get("http_endpoint")?,
                http_tokens: r.try_get("http_tokens")?,
            })
        })
        .collect()
}
