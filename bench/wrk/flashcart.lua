-- wrk script for bench/run.py: one scenario per run, chosen by the BENCH_SCENARIO environment variable.
--
--   BENCH_SCENARIO  floor | list | detail | popular | coupon | charge | spread | hot | soldout | card
--   BENCH_DATA      a Lua file returning {tokens = {...}, product_ids = {...}, hot_ids = {...},
--                   coupon_id = n, hot_product_id = n, card_number = "..."}, written by run.py after seeding
--   BENCH_NONCE     makes this run's Idempotency-Keys unique
--   BENCH_OUT       where done() writes its JSON report
--
-- Every response is counted by status, plus the API error code for 4xx/5xx answers (e.g.
-- "409 COUPON_SOLD_OUT"), so run.py can tell expected refusals from errors.

local scenario = os.getenv("BENCH_SCENARIO") or "floor"
local data = dofile(os.getenv("BENCH_DATA"))
local nonce = os.getenv("BENCH_NONCE") or tostring(os.time())
local threads = {}

function setup(thread)
    thread:set("thread_id", #threads + 1)
    table.insert(threads, thread)
end

local tokens, product_ids, hot_ids = data.tokens, data.product_ids, data.hot_ids
local counter = 0
counts = {}

function init(args)
    math.randomseed(os.time() * 1000 + (thread_id or 0))
end

local function pick(list)
    return list[math.random(#list)]
end

local function auth_headers()
    counter = counter + 1
    return {
        ["Authorization"] = "Token " .. pick(tokens),
        ["Content-Type"] = "application/json",
        ["Idempotency-Key"] = string.format("%s-%d-%d", nonce, thread_id or 0, counter),
    }
end

local list_queries = {
    "?page=%d",
    "?ordering=price&page=%d",
    "?category=bench-%d",
    "?in_stock=true&ordering=-price&page=%d",
    "?min_price=1000&max_price=3000&page=%d",
}

local builders = {
    floor = function()
        return wrk.format("GET", "/livez")
    end,
    list = function()
        local query = string.format(pick(list_queries), math.random(5))
        return wrk.format("GET", "/api/v1/products" .. query)
    end,
    detail = function()
        return wrk.format("GET", "/api/v1/products/" .. pick(hot_ids))
    end,
    popular = function()
        local days = ({1, 3, 7, 30})[math.random(4)]
        return wrk.format("GET", string.format("/api/v1/products/popular?days=%d&limit=10", days))
    end,
    coupon = function()
        local headers = auth_headers()
        headers["Idempotency-Key"] = nil
        return wrk.format("POST", string.format("/api/v1/coupons/%d/issue", data.coupon_id), headers, "")
    end,
    charge = function()
        return wrk.format("POST", "/api/v1/wallet/charge", auth_headers(), string.format('{"amount": %d}', math.random(1, 10000)))
    end,
    spread = function()
        local lines, seen = {}, {}
        for _ = 1, math.random(3) do
            local id = pick(product_ids)
            if not seen[id] then
                seen[id] = true
                table.insert(lines, string.format('{"product_id": %d, "quantity": %d}', id, math.random(3)))
            end
        end
        return wrk.format("POST", "/api/v1/orders", auth_headers(), '{"items": [' .. table.concat(lines, ", ") .. "]}")
    end,
    hot = function()
        local body = string.format('{"items": [{"product_id": %d, "quantity": 1}]}', data.hot_product_id)
        return wrk.format("POST", "/api/v1/orders", auth_headers(), body)
    end,
    card = function()
        local body = string.format(
            '{"items": [{"product_id": %d, "quantity": 1}], "payment_method": "card", "card": {"number": "%s"}}',
            pick(product_ids), data.card_number
        )
        return wrk.format("POST", "/api/v1/orders", auth_headers(), body)
    end,
}
-- The hot product once sold out: the same requests as checkout-hot.
builders.soldout = builders.hot

request = builders[scenario]
if request == nil then
    error("unknown BENCH_SCENARIO " .. scenario)
end

function response(status, headers, body)
    local key = tostring(status)
    if status >= 400 then
        local code = string.match(body or "", '"code"%s*:%s*"([%w_]+)"')
        if code then
            key = key .. " " .. code
        end
    end
    counts[key] = (counts[key] or 0) + 1
end

local function json_counts(merged)
    local parts = {}
    for key, n in pairs(merged) do
        table.insert(parts, string.format('"%s": %d', key, n))
    end
    return "{" .. table.concat(parts, ", ") .. "}"
end

function done(summary, latency, requests)
    local merged = {}
    for _, thread in ipairs(threads) do
        for key, n in pairs(thread:get("counts") or {}) do
            merged[key] = (merged[key] or 0) + n
        end
    end
    local e = summary.errors
    local report = string.format(
        '{"duration_us": %d, "requests": %d, "errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, '
            .. '"latency_us": {"p50": %d, "p95": %d, "p99": %d, "mean": %.1f, "max": %d}, "statuses": %s}',
        summary.duration, summary.requests, e.connect, e.read, e.write, e.timeout,
        latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean, latency.max,
        json_counts(merged)
    )
    local out = assert(io.open(os.getenv("BENCH_OUT"), "w"))
    out:write(report)
    out:close()
end
