//! VPC records.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::columns::{insert_sql, select_list, Insert};
use crate::page::Page;
use crate::query::{by_key, execute, next_seq, total_from_page, Where};
use crate::row::record;
use crate::tags::Tag;
use crate::Conn;

const TABLE: &str = "vpcs";

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Vpc {
    pub vpc_id: String,
    pub region_id: String,
    pub vpc_name: String,
    pub description: String,
    pub cidr_block: String,
    pub vrouter_id: String,
    pub route_table_id: String,
    pub is_default: bool,
    pub status: String,
    pub created_at: String,
}

/// Which VPCs a listing returns; `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct VpcFilter {
    pub vpc_ids: Option<Vec<String>>,
    pub vpc_name: Option<String>,
    pub is_default: Option<bool>,
    pub tags: Vec<Tag>,
}

/// The columns of `vpcs`, in bind order (`seq` first: listings order and page by it).
const COLUMNS: &str = "seq, vpc_id, region_id, vpc_name, description, cidr_block, vrouter_id, route_table_id, is_default, status, created_at";

fn from_row(r: &AnyRow) -> crate::Result<Vpc> {
    Ok(record!(r => Vpc {
        vpc_id, region_id, vpc_name, description, cidr_block, vrouter_id, route_table_id,
        is_default, status, created_at,
    }))
}

pub async fn insert(conn: &mut Conn, vpc: &Vpc) -> crate::Result<()> {
    let seq = next_seq(conn, TABLE).await?;
    let sql = insert_sql(TABLE, COLUMNS);
    Insert::new(&sql, COLUMNS)
        .bind(seq)
        .bind(&vpc.vpc_id)
        .bind(&vpc.region_id)
        .bind(&vpc.vpc_name)
        .bind(&vpc.description)
        .bind(&vpc.cidr_block)
        .bind(&vpc.vrouter_id)
        .bind(&vpc.route_table_id)
        .bind(vpc.is_default as i64)
        .bind(&vpc.status)
        .bind(&vpc.created_at)
        .execute(conn)
        .await
}

/// Every VPC's ID with its sequence number (from which the overlay takes its VNI), in order.
pub async fn sequence_numbers(conn: &mut Conn) -> crate::Result<Vec<(String, i64)>> {
    let rows = sqlx::query("SELECT vpc_id, seq FROM vpcs ORDER BY seq")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("vpc_id")?, r.try_get("seq")?)))
        .collect()
}

pub async fn get(conn: &mut Conn, vpc_id: &str) -> crate::Result<Option<Vpc>> {
    by_key(conn, TABLE, COLUMNS, "vpc_id", vpc_id, from_row).await
}

/// Changes the name and/or description; `None` leaves a field as it is.
pub async fn update(
    conn: &mut Conn,
    vpc_id: &str,
    vpc_name: Option<&str>,
    description: Option<&str>,
) -> crate::Result<()> {
    sqlx::query(
        "UPDATE vpcs SET vpc_name = COALESCE($2, vpc_name), description = COALESCE($3, description) WHERE vpc_id = $1",
    )
    .bind(vpc_id)
    .bind(vpc_name)
    .bind(description)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn delete(conn: &mut Conn, vpc_id: &str) -> crate::Result<()> {
    execute(conn, "DELETE FROM vpcs WHERE vpc_id = $1", &[vpc_id]).await?;
    Ok(())
}

/// One page of matching VPCs in creation order, and how many match in all.
pub async fn list(
    conn: &mut Conn,
    filter: &VpcFilter,
    offset: i64,
    limit: i64,
) -> crate::Result<Page<Vpc>> {
    let mut w = Where::default();
    if let Some(ids) = &filter.vpc_ids {
        w.any_of("vpc_id", ids);
    }
    if let Some(name) = &filter.vpc_name {
        w.eq("vpc_name", name);
    }
    if let Some(d) = filter.is_default {
        w.eq_int("is_default", d as i64);
    }
    w.tags("vpc", "vpc_id", &filter.tags);
    let rows = w
        .rows(conn, TABLE, &select_list(COLUMNS), offset, limit)
        .await?;
    let total = match total_from_page(offset, limit, rows.len()) {
        Some(t) => t,
        None => w.count(conn, TABLE).await?,
    };
    let items = rows.iter().map(from_row).collect::<crate::Result<_>>()?;
    Ok(Page { total, items })
}
