//! VSwitch records: a subnet of a VPC in one zone. The block's first and last addresses are
//! stored as integers so overlap is a range query.

use sqlx::any::AnyRow;

use crate::columns::{insert_sql, select_list, Insert};
use crate::page::{tagged_page, Page, Tagged, TaggedQuery};
use crate::query::{by_key, execute, next_seq, rows_in, Where};
use crate::row::record;
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

/// The tag resource type of VSwitches.
const TAG_TYPE: &str = "vswitch";

const TABLE: &str = "vswitches";

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

/// The columns of `vswitches`, in bind order (`seq` first: listings order and page by it).
const COLUMNS: &str = "seq, vswitch_id, vpc_id, zone_id, vswitch_name, description, cidr_block, route_table_id, cidr_first, cidr_last, available_ip_count, is_default, status, created_at";

fn from_row(r: &AnyRow) -> crate::Result<VSwitch> {
    Ok(record!(r => VSwitch {
        vswitch_id, vpc_id, zone_id, vswitch_name, description, cidr_block, route_table_id,
        cidr_first, cidr_last, available_ip_count, is_default, status, created_at,
    }))
}

pub async fn insert(conn: &mut Conn, v: &VSwitch) -> crate::Result<()> {
    let seq = next_seq(conn, TABLE).await?;
    let sql = insert_sql(TABLE, COLUMNS);
    Insert::new(&sql, COLUMNS)
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
        .execute(conn)
        .await?;
    execute(conn, "INSERT INTO vswitch_counts (vpc_id, zone_id, n) VALUES ($1, $2, 1) ON CONFLICT (vpc_id, zone_id) DO UPDATE SET n = vswitch_counts.n + 1", &[&v.vpc_id, &v.zone_id]).await?;
    Ok(())
}

pub async fn get(conn: &mut Conn, vswitch_id: &str) -> crate::Result<Option<VSwitch>> {
    by_key(conn, TABLE, COLUMNS, "vswitch_id", vswitch_id, from_row).await
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
    execute(
        conn,
        "DELETE FROM vswitches WHERE vswitch_id = $1",
        &[vswitch_id],
    )
    .await?;
    execute(
        conn,
        "UPDATE vswitch_counts SET n = n - 1 WHERE vpc_id = $1 AND zone_id = $2",
        &[&v.vpc_id, &v.zone_id],
    )
    .await?;
    execute(
        conn,
        "DELETE FROM vswitch_counts WHERE vpc_id = $1 AND zone_id = $2 AND n <= 0",
        &[&v.vpc_id, &v.zone_id],
    )
    .await?;
    Ok(())
}

/// A VSwitch's address block, and its VPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub vswitch_id: String,
    pub vpc_id: String,
    pub cidr_block: String,
}

fn block_from_row(r: &AnyRow) -> crate::Result<Block> {
    Ok(record!(r => Block {
        vswitch_id, vpc_id, cidr_block,
    }))
}

/// A VSwitch of `vpc_id` sharing an address with `first..=last`, if any.
pub async fn overlapping(
    conn: &mut Conn,
    vpc_id: &str,
    first: i64,
    last: i64,
) -> crate::Result<Option<Block>> {
    let row = sqlx::query(
        "SELECT vswitch_id, vpc_id, cidr_block FROM vswitches WHERE vpc_id = $1 AND cidr_first <= $2 AND cidr_last >= $3 ORDER BY cidr_first LIMIT 1",
    )
    .bind(vpc_id)
    .bind(last)
    .bind(first)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(block_from_row).transpose()
}

/// Every VSwitch of the given VPCs, by VPC then creation order; one query.
pub async fn ids_in_vpcs(conn: &mut Conn, vpc_ids: &[String]) -> crate::Result<Vec<Block>> {
    let sql = "SELECT vswitch_id, vpc_id, cidr_block FROM vswitches WHERE vpc_id IN ({in}) ORDER BY vpc_id, seq";
    let rows = rows_in(conn, sql, vpc_ids).await?;
    rows.iter().map(block_from_row).collect()
}

/// One page of matching VSwitches in creation order with their tags, and how many match in all.
///
/// The page and its tags come in one query; the total then comes, cheapest first, from the page
/// itself when it is short, from `vswitch_counts` when the filter is only VPC and/or zone, and
/// from a COUNT otherwise.
pub async fn list(
    conn: &mut Conn,
    filter: &VSwitchFilter,
    offset: i64,
    limit: i64,
) -> crate::Result<Page<Tagged<VSwitch>>> {
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
    w.tags(TAG_TYPE, "vswitch_id", &filter.tags);
    // Totals by VPC and zone (or of everything) are kept in vswitch_counts, so they cost no
    // COUNT over the table; other filters are counted.
    let total = if by_place_only {
        let mut c = Where::default();
        if let Some(v) = &filter.vpc_id {
            c.eq("vpc_id", v);
        }
        if let Some(v) = &filter.zone_id {
            c.eq("zone_id", v);
        }
        c.sum_sql("vswitch_counts", "n")
    } else {
        w.count_sql(TABLE)
    };
    let q = TaggedQuery {
        table: TABLE,
        select: select_list(COLUMNS),
        tag_type: TAG_TYPE,
        id_column: "vswitch_id",
        total,
        filter: w,
    };
    tagged_page(conn, &q, None, offset, limit, from_row).await
}

/// Every VSwitch's block, in creation order, for the host network (bridges and firewall).
pub async fn all_for_network(conn: &mut Conn) -> crate::Result<Vec<Block>> {
    let rows = sqlx::query("SELECT vswitch_id, vpc_id, cidr_block FROM vswitches ORDER BY seq")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(block_from_row).collect()
}
