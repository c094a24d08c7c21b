//! [`ItemDetails`]: one title's year, genres and description.

use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Ctx, Tool, ToolError, ToolOutput, ToolResult, item_label};
use crate::prompts::fence;

/// Arguments of `item_details`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct DetailsArgs {
    /// The title to describe.
    pub title: String,
}

#[derive(Debug)]
pub(crate) struct ItemDetails;

impl Tool for ItemDetails {
    const NAME: &'static str = "item_details";
    const DESCRIPTION: &'static str = "Look up one title: year, genres and description.";
    type Args = DetailsArgs;

    fn call<'a>(&'a self, ctx: &'a mut Ctx<'_>, args: DetailsArgs) -> BoxFuture<'a, ToolResult> {
        Box::pin(std::future::ready(item_details(ctx, args)))
    }
}

fn item_details(ctx: &mut Ctx<'_>, a: DetailsArgs) -> ToolResult {
    let id = ctx.resolve_title(&a.title)?;
    let it = ctx
        .catalog()
        .item(id)
        .ok_or_else(|| ToolError::broken("the item is no longer in the catalog"))?;
    Ok(ToolOutput {
        summary: format!("details of {}", item_label(it)),
        content: json!({
            "ok": true,
            "title": fence(&it.title, 120),
            "year": it.year,
            "genres": it.genres,
            // Catalog text is data: fenced, cut, and marked as such.
            "description": format!("«{}»", fence(&it.text, 400)),
        }),
    })
}
