//! SAML apps (`crate::saml_idp::store::SamlAppStore`).

use diesel::prelude::*;

use super::schema::saml_apps;
use super::{Store, StoreError, StoreResult};
use crate::ids::{OrgId, SamlAppId};
use crate::saml_idp::store::SamlAppStore;
use crate::saml_idp::types::{NameIdFormat, SamlApp};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = saml_apps)]
struct AppRow {
    id: String,
    org_id: Option<String>,
    name: String,
    entity_id: String,
    acs_url: String,
    nameid_format: String,
    config: String,
    created_at: i64,
}

impl AppRow {
    fn from_app(app: &SamlApp) -> StoreResult<Self> {
        Ok(Self {
            id: app.id.to_string(),
            org_id: app.org_id.as_ref().map(|o| o.to_string()),
            name: app.name.clone(),
            entity_id: app.entity_id.clone(),
            acs_url: app.acs_url.clone(),
            nameid_format: app.nameid_format.as_str().to_owned(),
            config: serde_json::to_string(&app.config)
                .map_err(|e| StoreError::Backend(e.to_string()))?,
            created_at: app.created_at,
        })
    }

    fn into_app(self) -> StoreResult<SamlApp> {
        let corrupt =
            |what: &str| StoreError::Backend(format!("saml_apps {}: bad {what}", self.id));
        let nameid_format =
            NameIdFormat::parse(&self.nameid_format).ok_or_else(|| corrupt("nameid_format"))?;
        let config = serde_json::from_str(&self.config).map_err(|_| corrupt("config"))?;
        Ok(SamlApp {
            id: SamlAppId::new(self.id),
            org_id: self.org_id.map(OrgId::new),
            name: self.name,
            entity_id: self.entity_id,
            acs_url: self.acs_url,
            nameid_format,
            config,
            created_at: self.created_at,
        })
    }
}

impl SamlAppStore for Store {
    fn insert_saml_app(&self, app: &SamlApp) -> StoreResult<()> {
        diesel::insert_into(saml_apps::table)
            .values(AppRow::from_app(app)?)
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    fn find_saml_app_by_entity_id(&self, entity_id: &str) -> StoreResult<Option<SamlApp>> {
        saml_apps::table
            .filter(saml_apps::entity_id.eq(entity_id))
            .select(AppRow::as_select())
            .get_result(&mut *self.conn()?)
            .optional()?
            .map(AppRow::into_app)
            .transpose()
    }

    fn list_saml_apps(&self, org: Option<&OrgId>) -> StoreResult<Vec<SamlApp>> {
        let mut conn = self.conn()?;
        let rows = match org {
            Some(org) => saml_apps::table
                .filter(saml_apps::org_id.eq(org.as_str()))
                .order((saml_apps::created_at, saml_apps::id))
                .select(AppRow::as_select())
                .load(&mut *conn)?,
            None => saml_apps::table
                .filter(saml_apps::org_id.is_null())
                .order((saml_apps::created_at, saml_apps::id))
                .select(AppRow::as_select())
                .load(&mut *conn)?,
        };
        rows.into_iter().map(AppRow::into_app).collect()
    }

    fn list_all_saml_apps(&self) -> StoreResult<Vec<SamlApp>> {
        saml_apps::table
            .order((saml_apps::created_at, saml_apps::id))
            .select(AppRow::as_select())
            .load(&mut *self.conn()?)?
            .into_iter()
            .map(AppRow::into_app)
            .collect()
    }

    fn delete_saml_app(&self, org: Option<&OrgId>, id: &SamlAppId) -> StoreResult<bool> {
        let mut conn = self.conn()?;
        let n = match org {
            Some(org) => diesel::delete(
                saml_apps::table
                    .filter(saml_apps::id.eq(id.as_str()))
                    .filter(saml_apps::org_id.eq(org.as_str())),
            )
            .execute(&mut *conn)?,
            None => diesel::delete(
                saml_apps::table
                    .filter(saml_apps::id.eq(id.as_str()))
                    .filter(saml_apps::org_id.is_null()),
            )
            .execute(&mut *conn)?,
        };
        Ok(n > 0)
    }

    fn delete_any_saml_app(&self, id: &SamlAppId) -> StoreResult<bool> {
        let n = diesel::delete(saml_apps::table.find(id.as_str())).execute(&mut *self.conn()?)?;
        Ok(n > 0)
    }
}
