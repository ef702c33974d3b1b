-- +goose Up
-- Merchants' product catalogs, published as ACP product feeds. A merchant
-- has at most one catalog (its feed, feed_id). Every publish writes the
-- whole product set anew under the next generation and moves the catalog's
-- generation to it in the same unit of work, so readers see the old set or
-- the new one, never a mix; rows of older generations are pruned after.
-- raw is the product as published (compact JSON of the spec's Product);
-- the other columns are read from it to list and search. search_text is
-- title and description in lower case (Unicode case folding done once, in
-- Go, so both engines match alike). price is the lowest variant price in
-- minor units of currency ('' when no variant has a price).
CREATE TABLE catalogs (
    merchant_id    TEXT COLLATE "C" PRIMARY KEY,
    feed_id        TEXT COLLATE "C" NOT NULL UNIQUE,
    target_country TEXT COLLATE "C" NOT NULL,
    generation     BIGINT NOT NULL,
    product_count  BIGINT NOT NULL,
    bytes          BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    version        BIGINT NOT NULL
);

CREATE TABLE catalog_products (
    id           TEXT COLLATE "C" PRIMARY KEY,
    merchant_id  TEXT COLLATE "C" NOT NULL,
    generation   BIGINT NOT NULL,
    product_id   TEXT COLLATE "C" NOT NULL,
    position     BIGINT NOT NULL,
    title        TEXT NOT NULL,
    description  TEXT NOT NULL,
    price        BIGINT NOT NULL,
    currency     TEXT COLLATE "C" NOT NULL,
    availability TEXT COLLATE "C" NOT NULL,
    url          TEXT COLLATE "C" NOT NULL,
    image_url    TEXT COLLATE "C" NOT NULL,
    search_text  TEXT NOT NULL,
    raw          TEXT NOT NULL,
    updated_at   BIGINT NOT NULL
);
-- Search pages through products in (merchant_id, product_id) order; one
-- product is read by the same key; a feed by merchant and generation.
CREATE UNIQUE INDEX catalog_products_key ON catalog_products (merchant_id, product_id, generation);
CREATE INDEX catalog_products_feed ON catalog_products (merchant_id, generation, position);
CREATE INDEX catalog_products_price ON catalog_products (currency, price);

-- Variants, so that a checkout can price an item by its variant id.
CREATE TABLE catalog_variants (
    id          TEXT COLLATE "C" PRIMARY KEY,
    merchant_id TEXT COLLATE "C" NOT NULL,
    generation  BIGINT NOT NULL,
    variant_id  TEXT COLLATE "C" NOT NULL,
    product_id  TEXT COLLATE "C" NOT NULL,
    title       TEXT NOT NULL,
    price       BIGINT NOT NULL,
    currency    TEXT COLLATE "C" NOT NULL,
    available   BIGINT NOT NULL,
    status      TEXT COLLATE "C" NOT NULL
);
CREATE UNIQUE INDEX catalog_variants_key ON catalog_variants (merchant_id, variant_id, generation);
CREATE INDEX catalog_variants_generation ON catalog_variants (merchant_id, generation);

-- +goose Down
DROP TABLE catalog_variants;
DROP TABLE catalog_products;
DROP TABLE catalogs;
