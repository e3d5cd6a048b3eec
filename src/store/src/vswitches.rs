//! VSwitch records: a subnet of a VPC in one zone. The block's first and last addresses are
//! stored as integers so overlap is a range query.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::query::{next_seq, total_from_page, Where};
use crate::tags::Tag;
use crate::Conn;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VSwitch {
    pub vswitch_id: String,
    pub vpc_id: String,
    pub zone_id: String,
    pub vswitch_name: String,
    pub description: String,
    pub cidr_block: String,
    /// The VPC's route table, copied from the VPC (it never changes).
    pub route_table_id: String,
    pub cidr_first: i64,
    pub cidr_last: i64,
    pub available_ip_count: i64,
    pub is_default: bool,
    pub status: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Default)]
pub struct VSwitchFilter {
    pub vpc_id: Option<String>,
    pub vswitch_id: Option<String>,
    /// Any of these (CVM's DescribeSubnets takes a list); `Some(empty)` matches nothing.
    pub vswitch_ids: Option<Vec<String>>,
    pub zone_id: Option<String>,
    pub vswitch_name: Option<String>,
    pub is_default: Option<bool>,
    pub tags: Vec<Tag>,
}

const COLUMNS: &str = "vswitch_id, vpc_id, zone_id, vswitch_name, description, cidr_block, route_table_id, cidr_first, cidr_last, available_ip_count, is_default, status, created_at";

fn from_row(r: &AnyRow) -> VSwitch {
    VSwitch {
        vswitch_id: r.get(0),
        vpc_id: r.get(1),
        zone_id: r.get(2),
        vswitch_name: r.get(3),
        description: r.get(4),
        cidr_block: r.get(5),
        route_table_id: r.get(6),
        cidr_first: r.get(7),
        cidr_last: r.get(8),
        available_ip_count: r.get(9),
        is_default: r.get::<i64, _>(10) != 0,
        status: r.get(11),
        created_at: r.get(12),
    }
}

pub async fn insert(conn: &mut Conn, v: &VSwitch) -> crate::Result<()> {
    let seq = next_seq(conn, "vswitches").await?;
    sqlx::query(&format!(
        "INSERT INTO vswitches (seq, {COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    ))
    .bind(seq)
    .bind(&v.vswitch_id)
    .bind(&v.vpc_id)
    .bind(&v.zone_id)
    .bind(&v.vswitch_name)
    .bind(&v.description)
    .bind(&v.cidr_block)
    .bind(&v.route_table_id)
    .bind(v.cidr_first)
    .bind(v.cidr_last)
    .bind(v.available_ip_count)
    .bind(v.is_default as i64)
    .bind(&v.status)
    .bind(&v.created_at)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO vswitch_counts (vpc_id, zone_id, n) VALUES ($1, $2, 1) ON CONFLICT (vpc_id, zone_id) DO UPDATE SET n = vswitch_counts.n + 1",
    )
    .bind(&v.vpc_id)
    .bind(&v.zone_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut Conn, vswitch_id: &str) -> crate::Result<Option<VSwitch>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM vswitches WHERE vswitch_id = $1"
    ))
    .bind(vswitch_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(from_row))
}

pub async fn update(
    conn: &mut Conn,
    vswitch_id: &str,
    vswitch_name: Option<&str>,
    description: Option<&str>,
) -> crate::Result<()> {
    sqlx::query(
        "UPDATE vswitches SET vswitch_name = COALESCE($2, vswitch_name), description = COALESCE($3, description) WHERE vswitch_id = $1",
    )
    .bind(vswitch_id)
    .bind(vswitch_name)
    .bind(description)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Deletes a VSwitch (and its place in the counts); a missing one is not an error.
pub async fn delete(conn: &mut Conn, vswitch_id: &str) -> crate::Result<()> {
    let Some(v) = get(conn, vswitch_id).await? else {
        return Ok(());
    };
    sqlx::query("DELETE FROM vswitches WHERE vswitch_id = $1")
        .bind(vswitch_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE vswitch_counts SET n = n - 1 WHERE vpc_id = $1 AND zone_id = $2")
        .bind(&v.vpc_id)
        .bind(&v.zone_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM vswitch_counts WHERE vpc_id = $1 AND zone_id = $2 AND n <= 0")
        .bind(&v.vpc_id)
        .bind(&v.zone_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A VSwitch of `vpc_id` sharing an address with `first..=last`, if any: (ID, CIDR block).
pub async fn overlapping(
    conn: &mut Conn,
    vpc_id: &str,
    first: i64,
    last: i64,
) -> crate::Result<Option<(String, String)>> {
    let row = sqlx::query(
        "SELECT vswitch_id, cidr_block FROM vswitches WHERE vpc_id = $1 AND cidr_first <= $2 AND cidr_last >= $3 ORDER BY cidr_first LIMIT 1",
    )
    .bind(vpc_id)
    .bind(last)
    .bind(first)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

/// (VPC ID, VSwitch ID) for every VSwitch of the given VPCs, in creation order; one query.
pub async fn ids_in_vpcs(
    conn: &mut Conn,
    vpc_ids: &[String],
) -> crate::Result<Vec<(String, String)>> {
    if vpc_ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (1..=vpc_ids.len()).map(|n| format!("${n}")).collect();
    let sql = format!(
        "SELECT vpc_id, vswitch_id FROM vswitches WHERE vpc_id IN ({}) ORDER BY vpc_id, seq",
        marks.join(", ")
    );
    let mut q = sqlx::query(&sql);
    for id in vpc_ids {
        q = q.bind(id.as_str());
    }
    let rows = q.fetch_all(&mut *conn).await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// One page of matching VSwitches in creation order with their tags, and how many match in all.
///
/// The page comes first (an indexed LIMIT/OFFSET); the total then comes, cheapest first, from
/// the page itself when it is short, from `vswitch_counts` when the filter is only VPC and/or
/// zone, and from a COUNT otherwise.
pub async fn list(
    conn: &mut Conn,
    filter: &VSwitchFilter,
    offset: i64,
    limit: i64,
) -> crate::Result<(i64, Vec<(VSwitch, Vec<Tag>)>)> {
    let mut w = Where::default();
    if let Some(v) = &filter.vpc_id {
        w.eq("vpc_id", v);
    }
    if let Some(v) = &filter.zone_id {
        w.eq("zone_id", v);
    }
    let by_place_only = filter.vswitch_id.is_none()
        && filter.vswitch_ids.is_none()
        && filter.vswitch_name.is_none()
        && filter.is_default.is_none()
        && filter.tags.is_empty();
    if let Some(v) = &filter.vswitch_id {
        w.eq("vswitch_id", v);
    }
    if let Some(ids) = &filter.vswitch_ids {
        w.any_of("vswitch_id", ids);
    }
    if let Some(v) = &filter.vswitch_name {
        w.eq("vswitch_name", v);
    }
    if let Some(d) = filter.is_default {
        w.eq_int("is_default", d as i64);
    }
    w.tags("vswitch", "vswitch_id", &filter.tags);
    // The total rides along in the page query. Totals by VPC and zone (or of everything) are
    // kept in vswitch_counts, so they cost no COUNT over the table; other filters are counted.
    let total_sql = if by_place_only {
        let mut c = Where::default();
        if let Some(v) = &filter.vpc_id {
            c.eq("vpc_id", v);
        }
        if let Some(v) = &filter.zone_id {
            c.eq("zone_id", v);
        }
        c.sum_sql("vswitch_counts", "n")
    } else {
        w.count_sql("vswitches")
    };
    let rows = w
        .rows_with_tags(
            conn,
            "vswitches",
            COLUMNS,
            ("vswitch", "vswitch_id"),
            &total_sql,
            offset,
            limit,
        )
        .await?;
    // Rows come one per (VSwitch, tag), in page order: fold them into VSwitches with tags.
    let tag_at = COLUMNS.split(',').count() + 1;
    let mut page: Vec<(VSwitch, Vec<Tag>)> = Vec::new();
    for r in &rows {
        let id: String = r.try_get(0)?;
        if page.last().is_none_or(|(v, _)| v.vswitch_id != id) {
            page.push((from_row(r), Vec::new()));
        }
        let key: Option<String> = r.try_get(tag_at)?;
        if let (Some(key), Some((_, tags))) = (key, page.last_mut()) {
            tags.push(Tag {
                key,
                value: r
                    .try_get::<Option<String>, _>(tag_at + 1)?
                    .unwrap_or_default(),
            });
        }
    }
    let total = match (rows.first(), total_from_page(offset, limit, page.len())) {
        (_, Some(t)) => t,
        (Some(first), None) => first.try_get(tag_at + 2)?,
        // A page past the end carries no row to read the total from.
        (None, None) => w.count(conn, "vswitches").await?,
    };
    Ok((total, page))
}

/// Every VSwitch as (ID, VPC ID, CIDR block), for the host network (bridges and firewall).
pub async fn all_for_network(conn: &mut Conn) -> crate::Result<Vec<(String, String, String)>> {
    let rows = sqlx::query("SELECT vswitch_id, vpc_id, cidr_block FROM vswitches ORDER BY seq")
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}
