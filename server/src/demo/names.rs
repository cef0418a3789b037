//! The demo's names: the ids of every resource the scenarios create in the simulators, and
//! each simulator's token. The bottom of `demo`: the scenarios, the simulators, the config
//! text and the world all name things through it. The browser tests rely on the basic
//! story's names: keep them as they are.

/// Each simulator's token in demo mode (the demo config names them by `LOOKOUT_DEMO_*`).
pub(super) const VERCEL_TOKEN: &str = "demo-vercel-token";
pub(super) const RENDER_TOKEN: &str = "demo-render-token";
pub(super) const RAILWAY_TOKEN: &str = "demo-railway-token";
pub(super) const NETLIFY_TOKEN: &str = "demo-netlify-token";
pub(super) const CLOUDFLARE_TOKEN: &str = "demo-cloudflare-token";
pub(super) const GITHUB_TOKEN: &str = "demo-github-token";
pub(super) const DIGITALOCEAN_TOKEN: &str = "demo-digitalocean-token";
pub(super) const HEROKU_TOKEN: &str = "demo-heroku-token";
pub(super) const FLY_TOKEN: &str = "demo-fly-token";
pub(super) const SUPABASE_TOKEN: &str = "demo-supabase-token";

// ---- The basic scenario's ids ----

pub(super) const WEB_PROJECT: &str = "prj_demoWeb01";
pub(super) const API_PRODUCTION: &str = "srv-demoapiprod01";
pub(super) const API_STAGING: &str = "srv-demoapistag01";
pub(super) const RAILWAY_PROJECT: &str = "7f3c2a10-0000-4000-8000-00000000d001";
pub(super) const WORKER_SERVICE: &str = "7f3c2a10-0000-4000-8000-00000000d002";
pub(super) const RAILWAY_PRODUCTION: &str = "7f3c2a10-0000-4000-8000-0000000e0001";
pub(super) const RAILWAY_STAGING: &str = "7f3c2a10-0000-4000-8000-0000000e0002";
pub(super) const RAILWAY_PR_42: &str = "7f3c2a10-0000-4000-8000-0000000e0042";
pub(super) const RAILWAY_PR_57: &str = "7f3c2a10-0000-4000-8000-0000000e0057";

pub(super) const PREVIEW_CHECKOUT: (&str, u32) = ("feature/checkout-redesign", 42);
pub(super) const PREVIEW_LOGIN: (&str, u32) = ("fix/login-timeout", 57);

// ---- The all-providers scenario's ids ----

pub(super) const STOREFRONT_SITE: &str = "5b0c3e1a-8d2f-4c7b-9a6e-1f4d2c8b7a30";
pub(super) const SHOP_RAILWAY_PROJECT: &str = "c4a1e7f2-3b5d-4e8a-9f10-6d2b8c4e1a70";
pub(super) const SHOP_API_SERVICE: &str = "c4a1e7f2-3b5d-4e8a-9f10-0000000a0001";
pub(super) const SHOP_RAILWAY_PRODUCTION: &str = "c4a1e7f2-3b5d-4e8a-9f10-0000000e0001";
pub(super) const SHOP_RAILWAY_STAGING: &str = "c4a1e7f2-3b5d-4e8a-9f10-0000000e0002";
pub(super) const SHOP_RAILWAY_PR_214: &str = "c4a1e7f2-3b5d-4e8a-9f10-0000000e0214";
pub(super) const WORKER_APP: &str = "acme-worker";
pub(super) const WORKER_STAGING_APP: &str = "acme-worker-staging";
pub(super) const ADMIN_APP: &str = "acme-admin";
pub(super) const ADMIN_STAGING_APP: &str = "acme-admin-staging";
pub(super) const CLOUDFLARE_ACCOUNT: &str = "7c1e5a9b3d0f4e2a8b6c9d1e3f5a7b90";
pub(super) const DOCS_PROJECT: &str = "acme-docs";
pub(super) const BILLING_APP: &str = "6f1d2a3b-4c5e-4f60-8a7b-9c0d1e2f3a4b";
pub(super) const BILLING_STAGING_APP: &str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
pub(super) const MARKETING_PROJECT: &str = "prj_acmeMarketing01";
pub(super) const WEBHOOKS_PRODUCTION: &str = "srv-acmewebhooksprod";
pub(super) const WEBHOOKS_STAGING: &str = "srv-acmewebhooksstag";
pub(super) const SEARCH_REPO: (&str, &str) = ("acme", "search");
pub(super) const DB_PRODUCTION_REF: &str = "qwmzkpdhrtnvbxcyfjls";
pub(super) const DB_STAGING_REF: &str = "hgtrlkpwsnzxqbvdmcya";

/// A pull request whose preview spans two services (storefront on Netlify, api on Railway).
pub(super) const PREVIEW_GIFT_CARDS: (&str, u32) = ("feature/gift-cards", 214);
/// A branch preview without a pull request (docs on Cloudflare Pages).
pub(super) const PREVIEW_DOCS_BRANCH: &str = "docs/webhook-retries";
/// The branch whose Netlify branch deploys are the storefront's staging.
pub(super) const STOREFRONT_STAGING_BRANCH: &str = "staging";
