//! Disk records: the system and data disks of instances, and available disks kept after their
//! instance was deleted (DeleteWithInstance=false).

use sqlx::any::AnyRow;

use crate::columns::{insert_sql, select_list, Insert};
use crate::page::{tagged_page, Page, Tagged, TaggedQuery};
use crate::query::{by_key, execute, next_seq, rows_in, Where};
use crate::row::record;
use crate::tags::Tag;
use crate::Conn;

/// The tag resource type of disks.
pub const TAG_TYPE: &str = "disk";

const TABLE: &str = "disks";

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Disk {
    pub id: String,
    pub instance_id: Option<String>,
    pub region_id: String,
    pub zone_id: String,
    /// `system` or `data`.
    pub disk_type: String,
    pub category: String,
    pub size_gib: i64,
    pub performance_level: String,
    pub device: String,
    pub order_index: i64,
    pub delete_with_instance: bool,
    pub name: String,
    pub description: String,
    pub image_id: String,
    pub path: String,
    pub status: String,
    pub creation_time: String,
    pub attached_time: String,
    pub detached_time: String,
}

/// The columns of `disks`, in bind order (`seq` first: listings order and page by it).
const COLUMNS: &str = "seq, id, instance_id, region_id, zone_id, disk_type, category, size_gib, performance_level, device, order_index, delete_with_instance, name, description, image_id, path, status, creation_time, attached_time, detached_time";

fn from_row(r: &AnyRow) -> crate::Result<Disk> {
    Ok(record!(r => Disk {
        id, instance_id, region_id, zone_id, disk_type, category, size_gib, performance_level,
        device, order_index, delete_with_instance, name, description, image_id, path, status,
        creation_time, attached_time, detached_time,
    }))
}

pub async fn insert(conn: &mut Conn, d: &Disk) -> crate::Result<()> {
    let seq = next_seq(conn, TABLE).await?;
    let sql = insert_sql(TABLE, COLUMNS);
    Insert::new(&sql, COLUMNS)
        .bind(seq)
        .bind(&d.id)
        .bind(d.instance_id.as_deref())
        .bind(&d.region_id)
        .bind(&d.zone_id)
        .bind(&d.disk_type)
        .bind(&d.category)
        .bind(d.size_gib)
        .bind(&d.performance_level)
        .bind(&d.device)
        .bind(d.order_index)
        .bind(d.delete_with_instance as i64)
        .bind(&d.name)
        .bind(&d.description)
        .bind(&d.image_id)
        .bind(&d.path)
        .bind(&d.status)
        .bind(&d.creation_time)
        .bind(&d.attached_time)
        .bind(&d.detached_time)
        .execute(conn)
        .await
}

/// The disks of an instance: the system disk first, then data disks in N order.
pub async fn of_instance(conn: &mut Conn, instance_id: &str) -> crate::Result<Vec<Disk>> {
    let rows = sqlx::query(&format!(
        "SELECT {} FROM {TABLE} WHERE instance_id = $1 ORDER BY order_index",
        select_list(COLUMNS)
    ))
    .bind(instance_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn get(conn: &mut Conn, id: &str) -> crate::Result<Option<Disk>> {
    by_key(conn, TABLE, COLUMNS, "id", id, from_row).await
}

/// The disks of many instances in one query, by instance then attachment order.
pub async fn of_instances(conn: &mut Conn, instance_ids: &[String]) -> crate::Result<Vec<Disk>> {
    let sql = format!(
        "SELECT {} FROM {TABLE} WHERE instance_id IN ({{in}}) ORDER BY instance_id, order_index",
        select_list(COLUMNS)
    );
    let rows = rows_in(conn, &sql, instance_ids).await?;
    rows.iter().map(from_row).collect()
}

/// Deletes a disk record and its tags.
pub async fn delete(conn: &mut Conn, id: &str) -> crate::Result<()> {
    crate::tags::delete_all(conn, TAG_TYPE, id).await?;
    execute(conn, "DELETE FROM disks WHERE id = $1", &[id]).await?;
    Ok(())
}

/// Detaches a disk whose instance is gone: it stays as an available disk.
pub async fn detach(conn: &mut Conn, id: &str, now: &str) -> crate::Result<()> {
    execute(conn, "UPDATE disks SET instance_id = NULL, device = '', status = 'Available', detached_time = $2 WHERE id = $1", &[id, now]).await?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub region_id: String,
    pub ids: Option<Vec<String>>,
    pub instance_id: Option<String>,
    pub zone_id: Option<String>,
    pub disk_type: Option<String>,
    pub category: Option<String>,
    pub status: Option<String>,
    pub name: Option<String>,
    pub delete_with_instance: Option<bool>,
    pub tags: Vec<Tag>,
}

/// One page of matching disks (creation order) with their tags, and the total.
pub async fn list(
    conn: &mut Conn,
    f: &Filter,
    offset: i64,
    limit: i64,
) -> crate::Result<Page<Tagged<Disk>>> {
    let mut w = Where::default();
    w.eq("region_id", &f.region_id);
    if let Some(ids) = &f.ids {
        w.any_of("id", ids);
    }
    w.eq_given(&[
        ("instance_id", &f.instance_id),
        ("zone_id", &f.zone_id),
        ("disk_type", &f.disk_type),
        ("category", &f.category),
        ("status", &f.status),
        ("name", &f.name),
    ]);
    if let Some(d) = f.delete_with_instance {
        w.eq_int("delete_with_instance", d as i64);
    }
    w.tags(TAG_TYPE, "id", &f.tags);
    let q = TaggedQuery {
        table: TABLE,
        select: select_list(COLUMNS),
        tag_type: TAG_TYPE,
        id_column: "id",
        total: w.count_sql(TABLE),
        filter: w,
    };
    tagged_page(conn, &q, None, offset, limit, from_row).await
}
