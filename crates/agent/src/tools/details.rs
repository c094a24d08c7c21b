//! [`ItemDetails`]: one title's year, genres and description.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Call, Ctx, Done, Outcome, Tool, ToolError, item_label};
use crate::prompts::fence;

/// Arguments of `item_details`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct DetailsArgs {
    /// The title to describe.
    pub title: String,
}

/// What `item_details` tells the model; the catalog's text is fenced data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct DetailsOutput {
    pub title: String,
    pub year: Option<u16>,
    pub genres: Vec<String>,
    /// Cut to 400 characters and marked as data: «…».
    pub description: String,
}

#[derive(Debug)]
pub(crate) struct ItemDetails;

impl Tool for ItemDetails {
    const NAME: &'static str = "item_details";
    const DESCRIPTION: &'static str = "Look up one title: year, genres and description.";
    type Args = DetailsArgs;
    type Output = DetailsOutput;

    fn call<'a>(&'a self, ctx: &'a mut Ctx<'_>, args: DetailsArgs) -> Call<'a, DetailsOutput> {
        Box::pin(std::future::ready(item_details(ctx, args)))
    }
}

fn item_details(ctx: &mut Ctx<'_>, a: DetailsArgs) -> Outcome<DetailsOutput> {
    let id = ctx.resolve_title(&a.title)?;
    let it = ctx
        .catalog()
        .item(id)
        .ok_or_else(|| ToolError::broken("the item is no longer in the catalog"))?;
    let output = DetailsOutput {
        title: fence(&it.title, 120),
        year: it.year,
        genres: it.genres.clone(),
        // Catalog text is data: fenced, cut, and marked as such.
        description: format!("«{}»", fence(&it.text, 400)),
    };
    Ok(Done::new(format!("details of {}", item_label(it)), output))
}
