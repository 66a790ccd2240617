// bench/peer/server.mjs - tools/bench's peer: what a user would pick instead
// of contact-verify, better-auth (pinned in package-lock.json) with its
// emailOTP and jwt plugins on the machine's Node and `pg`, measured in the
// same rounds as the service.  Not part of the product.
//
//   node server.mjs migrate   create better-auth's schema and the outbox in
//                             PEER_DATABASE (better-auth's own migrations)
//   node server.mjs serve     listen on 127.0.0.1:PEER_PORT with PEER_WORKERS
//                             processes (node:cluster), as many as a
//                             responder has
//
// Environment: PEER_HOST (PostgreSQL's socket directory), PEER_DATABASE,
// PEER_USER, PEER_PORT, PEER_WORKERS, PEER_POOL (connections per process),
// PEER_SECRET (better-auth's secret), PEER_PIDFILE (where the primary
// writes its PID).
// Rate limiting is off (tools/bench floods from one address), sign-up on
// sign-in is off (the users exist), and sendVerificationOTP queues the mail
// as one row of table outbox, as the service's send queues its mail.
import cluster from "node:cluster";
import { betterAuth } from "better-auth";
import { toNodeHandler } from "better-auth/node";
import { emailOTP, jwt, bearer } from "better-auth/plugins";
import { getMigrations } from "better-auth/db/migration";
import fs from "node:fs";
import http from "node:http";
import pg from "pg";

const env = (name, fallback) => process.env[name] ?? fallback;
const pool = new pg.Pool({
	host: env("PEER_HOST", "/var/run/postgresql"),
	database: env("PEER_DATABASE", "peer"),
	user: env("PEER_USER", "postgres"),
	max: Number(env("PEER_POOL", "4")),
});

const auth = betterAuth({
	database: pool,
	secret: env("PEER_SECRET", "bench-peer-secret-bench-peer-secret"),
	baseURL: `http://127.0.0.1:${env("PEER_PORT", "3000")}`,
	rateLimit: { enabled: false },
	telemetry: { enabled: false },
	plugins: [
		emailOTP({
			disableSignUp: true,
			expiresIn: 86400,
			async sendVerificationOTP({ email, otp, type }) {
				await pool.query("INSERT INTO outbox (email, type, body) VALUES ($1, $2, $3)",
					[email, type, `Your code is ${otp}`]);
			},
		}),
		jwt(),
		bearer(),
	],
});

const mode = process.argv[2];
if (mode === "migrate") {
	const { runMigrations } = await getMigrations(auth.options);
	await runMigrations();
	await pool.query(`CREATE TABLE IF NOT EXISTS outbox (
		id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		email text NOT NULL, type text NOT NULL, body text NOT NULL,
		created_at timestamptz NOT NULL DEFAULT now())`);
	await pool.end();
} else if (mode === "serve") {
	if (cluster.isPrimary) {
		const n = Number(env("PEER_WORKERS", "4"));
		let listening = 0;
		cluster.on("listening", () => {
			if (++listening === n && process.env.PEER_PIDFILE)
				fs.writeFileSync(process.env.PEER_PIDFILE, `${process.pid}\n`);
		});
		for (let i = 0; i < n; i++) cluster.fork();
		cluster.on("exit", (w, code) => console.error(`peer worker ${w.process.pid} exited (${code})`));
		process.on("SIGTERM", () => {
			for (const w of Object.values(cluster.workers)) w.kill("SIGTERM");
			process.exit(0);
		});
	} else {
		http.createServer(toNodeHandler(auth)).listen(Number(env("PEER_PORT", "3000")), "127.0.0.1");
	}
} else {
	console.error("usage: node server.mjs migrate|serve");
	process.exit(2);
}
