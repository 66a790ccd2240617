-- bench/wrk.lua - the requests of tools/bench, for wrk.  What to send is
-- chosen by the environment, because wrk decides whether a script makes
-- its own requests before it passes any arguments:
--   BENCH_MODE   static (wrk's own fixed request), select (the fcgi_select
--                floor, ?id=1..BENCH_ITEMS), send, verify, verify_wrong,
--                auth_token (the URL's path plus a uuid), oauth_token,
--                v4_verification_code, and the peer's (bench/peer):
--                peer_send, peer_verify, peer_verify_wrong, peer_token
--   BENCH_DATA   a file with one item per line: an email (send,
--                verify_wrong, v4_verification_code), "email code"
--                (verify), a contact uuid (auth_token), "client_id
--                client_secret" (oauth_token); for the peer the same, and
--                a session token (peer_token)
--   BENCH_KEY    the bench account's API key (v4_verification_code: the
--                JWT of its Users Orchestrator tenant, whose three codes
--                are all BENCH)
--   BENCH_THREADS  wrk's -t, so that the threads share the items out
--   BENCH_DELAY_MS  when set, each connection waits about that long before
--                each request: a fixed rate of about connections * 1000 /
--                BENCH_DELAY_MS req/s (Debian's wrk has no -R), whose
--                latency wrk measures from the request, not the wait
-- Every request of the endpoints comes from a client address of its own
-- (X-Forwarded-For 10.x.y.z from the item's number; tools/bench trusts
-- 127.0.0.1 as a proxy), as traffic from many users does: otherwise every
-- request would update the one per-address counter row of 127.0.0.1 and
-- wait for the row lock of the one before.
-- Requests go to the path of the URL given to wrk.  Every thread takes
-- every BENCH_THREADS-th item, so no item (a verify code above all) is sent
-- twice until the list is used up; then it starts over.  All requests are
-- built in init(), before the clock runs.
-- done() prints one line for tools/bench to parse.

local mode = os.getenv("BENCH_MODE") or "static"

local threads = {}
local counter = 0

function setup(thread)
	thread:set("tid", counter)
	counter = counter + 1
	table.insert(threads, thread)
end

local function json_string(s)
	return '"' .. s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

local function build(item, key, n)
	local from = string.format("10.%d.%d.%d", math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
	local auth = { ["Authorization"] = "Bearer " .. key, ["X-Forwarded-For"] = from }
	local json = { ["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json",
		["X-Forwarded-For"] = from }
	-- The peer's send and verify take the same JSON as ours but for the
	-- name of the code ("otp") and the kind of code it sends ("type").
	local peer = mode:sub(1, 5) == "peer_"
	local kind = peer and mode:sub(6) or mode
	local code_key = peer and ',"otp":' or ',"code":'
	if mode == "select" then
		return wrk.format("GET", wrk.path .. "?id=" .. item)
	elseif kind == "send" then
		return wrk.format("POST", wrk.path, json,
			'{"email":' .. json_string(item) .. (peer and ',"type":"sign-in"' or '') .. '}')
	elseif kind == "verify" then
		local email, code = item:match("^(%S+)%s+(%S+)$")
		return wrk.format("POST", wrk.path, json,
			'{"email":' .. json_string(email) .. code_key .. json_string(code) .. '}')
	elseif kind == "verify_wrong" then
		-- Prepared codes are never 000000 (tools/bench makes 100000-999999).
		return wrk.format("POST", wrk.path, json, '{"email":' .. json_string(item) .. code_key .. '"000000"}')
	elseif mode == "auth_token" then
		return wrk.format("GET", wrk.path .. item, auth)
	elseif mode == "v4_verification_code" then
		local uo = { ["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json",
			["X-Forwarded-For"] = from,
			["X-SourceSystem"] = "bench", ["X-ClientCode"] = "BENCH", ["X-PaperCode"] = "BENCH",
			["X-ClientGroupCode"] = "BENCH" }
		return wrk.format("POST", wrk.path, uo, '{"email":' .. json_string(item) .. '}')
	elseif mode == "peer_token" then
		return wrk.format("GET", wrk.path, { ["Authorization"] = "Bearer " .. item, ["X-Forwarded-For"] = from })
	elseif mode == "oauth_token" then
		local id, secret = item:match("^(%S+)%s+(%S+)$")
		return wrk.format("POST", wrk.path,
			{ ["Content-Type"] = "application/x-www-form-urlencoded", ["X-Forwarded-For"] = from },
			"grant_type=client_credentials&client_id=" .. id .. "&client_secret=" .. secret)
	end
	error("unknown BENCH_MODE " .. mode)
end

local requests = {}
local next_request = 1

function init(args)
	math.randomseed(os.time() * 100 + tid)
	if mode == "static" then
		return
	end
	local stride = tonumber(os.getenv("BENCH_THREADS") or "1")
	local key = os.getenv("BENCH_KEY") or ""
	local items = {}
	if mode == "select" then
		for i = 1, tonumber(os.getenv("BENCH_ITEMS") or "100000") do
			items[#items + 1] = tostring(i)
		end
	else
		for line in io.lines(os.getenv("BENCH_DATA")) do
			if line ~= "" then
				items[#items + 1] = line
			end
		end
	end
	if #items == 0 then
		error("no items in " .. tostring(os.getenv("BENCH_DATA")))
	end
	for i = tid + 1, #items, stride do
		requests[#requests + 1] = build(items[i], key, i)
	end
	if #requests == 0 then
		-- Fewer items than threads (one OAuth client): share them.
		requests[1] = build(items[tid % #items + 1], key, tid + 1)
	end
end

if mode ~= "static" then
	function request()
		local r = requests[next_request]
		next_request = next_request % #requests + 1
		return r
	end
end

-- The wait is drawn uniformly from 0.5 to 1.5 times BENCH_DELAY_MS, so
-- that the connections, which all start at once, do not stay in step and
-- arrive in bursts of -c requests.
local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "")
if delay_ms then
	function delay()
		return math.floor(delay_ms * (0.5 + math.random()))
	end
end

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		"BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d socket_errors=%d\n",
		summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
		e.status, e.connect + e.read + e.write + e.timeout))
end
