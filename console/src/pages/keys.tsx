// Keys: every virtual key with its team, service, scopes, expiry, last use
// and a spend sparkline; create (the secret shown once), rotate, revoke.

import { useState } from "preact/hooks";
import { listAll } from "../api";
import { canWriteAnyTeam, canWriteTeam, isAdmin, teamScope } from "../caller";
import { KeyState, UsageBucket, UsageDimension, type VirtualKey } from "../gen";
import { dollars, formatUSD, nanos } from "../money";
import { useNav, withQuery } from "../router";
import { DAY } from "../spend";
import { Card, Copy, Dialog, Empty, Field, Form, LoadStatus, Page, Select, Sparkline, Time, formatRelative, timestamp, toDate, useLoad, useSession } from "../ui";

const SPARK_DAYS = 14;

/** parseTags reads "env=prod, batch" into a tag map ("batch" → ""). */
export function parseTags(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of s.split(",")) {
    const p = part.trim();
    if (!p) continue;
    const [k, ...v] = p.split("=");
    out[k.trim()] = v.join("=").trim();
  }
  return out;
}

function stateOf(k: VirtualKey): [string, "ok" | "warn" | "bad"] {
  switch (k.state) {
    case KeyState.REVOKED:
      return ["revoked", "bad"];
    case KeyState.EXPIRED:
      return ["expired", "warn"];
    default:
      return ["active", "ok"];
  }
}

export function KeysPage() {
  const { api, caller, notify } = useSession();
  const { url, navigate } = useNav();
  const scope = teamScope(caller);
  const team = url.searchParams.get("team") ?? (scope?.length === 1 ? scope[0] : "");
  const revoked = url.searchParams.get("revoked") === "1";
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<{ title: string; key: VirtualKey; secret: string } | null>(null);
  const [confirm, setConfirm] = useState<{ kind: "revoke" | "rotate"; key: VirtualKey } | null>(null);

  const teams = useLoad(async () => {
    if (scope) return scope;
    return (await listAll((pageToken) => api.teams.listTeams({ pageToken, pageSize: 1000 }), (r) => r.teams)).map((t) => t.id);
  }, []);
  const keys = useLoad(
    async () => {
      const teamsToList = team ? [team] : scope ?? [""];
      const lists = await Promise.all(
        teamsToList.map((t) => listAll((pageToken) => api.teams.listKeys({ teamId: t, includeRevoked: revoked, pageToken, pageSize: 500 }), (r) => r.keys, 2000)),
      );
      return lists.flat();
    },
    [team, revoked],
  );
  const spend = useLoad(async () => {
    const end = new Date();
    const start = new Date(Math.floor((end.getTime() - (SPARK_DAYS - 1) * DAY) / DAY) * DAY);
    const teamsToSum = team ? [team] : scope ?? [""];
    const res = await Promise.all(
      teamsToSum.map((t) =>
        api.usage.getUsageSummary({ startTime: timestamp(start), endTime: timestamp(end), teamId: t, groupBy: [UsageDimension.KEY], bucket: UsageBucket.DAY }),
      ),
    );
    const byKey = new Map<string, { days: number[]; total: bigint }>();
    for (const g of res.flatMap((r) => r.groups)) {
      const id = g.keys[0];
      const e = byKey.get(id) ?? { days: new Array(SPARK_DAYS).fill(0), total: 0n };
      const day = Math.round((Number(g.bucketStartTime?.seconds ?? 0n) * 1000 - start.getTime()) / DAY);
      if (day >= 0 && day < SPARK_DAYS) e.days[day] += dollars(nanos(g.cost));
      e.total += nanos(g.cost);
      byKey.set(id, e);
    }
    return byKey;
  }, [team]);

  const set = (p: Record<string, string | undefined>) => navigate(withQuery(url, p), true);
  return (
    <Page
      title="Keys"
      intro="Virtual keys authenticate applications. Only a hash of each secret is stored: a secret is shown once, when the key is created or rotated."
      actions={
        canWriteAnyTeam(caller) && (
          <button type="button" class="primary" onClick={() => setCreating(true)} id="new-key">
            New key
          </button>
        )
      }
    >
      <div class="filters">
        <Field label="Team">
          <Select value={team} onChange={(v) => set({ team: v })} options={[...(scope ? [] : [["", "All teams"] as [string, string]]), ...(teams.data ?? (team ? [team] : []))]} name="team" />
        </Field>
        <label class="check">
          <input type="checkbox" checked={revoked} onChange={(e) => set({ revoked: (e.target as HTMLInputElement).checked ? "1" : undefined })} /> Show revoked
          keys
        </label>
      </div>
      <Card>
        <LoadStatus state={keys} />
        {keys.data && keys.data.length === 0 && <Empty>No keys{team ? ` of ${team}` : ""}.</Empty>}
        {keys.data && keys.data.length > 0 && (
          <div class="table-wrap">
            <table id="keys">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Team / service</th>
                  <th scope="col">Models</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Last used</th>
                  <th scope="col">State</th>
                  <th scope="col" class="num">
                    Spend, {SPARK_DAYS} days
                  </th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {keys.data.map((k) => {
                  const [state, tone] = stateOf(k);
                  const s = spend.data?.get(k.id);
                  const lastUsed = toDate(k.lastUsedTime);
                  return (
                    <tr key={k.id} data-key-id={k.id}>
                      <th scope="row">
                        <div>{k.name || <span class="muted">unnamed</span>}</div>
                        <div class="muted mono">
                          {k.id} · {k.secretPrefix}…
                        </div>
                      </th>
                      <td>
                        {k.teamId}
                        {k.serviceId && <span class="muted"> / {k.serviceId}</span>}
                      </td>
                      <td>
                        {k.allowedModels.length === 0 ? (
                          <span class="muted">all</span>
                        ) : (
                          <div class="tags">
                            {k.allowedModels.map((m) => (
                              <span class="pill" key={m}>
                                {m}
                              </span>
                            ))}
                          </div>
                        )}
                      </td>
                      <td>
                        <Time at={k.expireTime} empty="never" />
                      </td>
                      <td>{lastUsed ? <time dateTime={lastUsed.toISOString()} title={lastUsed.toLocaleString()}>{formatRelative(lastUsed)}</time> : <span class="muted">never</span>}</td>
                      <td>
                        <span class={"pill " + tone}>{state}</span>
                      </td>
                      <td class="num">
                        <Sparkline values={s?.days ?? new Array(SPARK_DAYS).fill(0)} label={`Daily spend of ${k.name || k.id} over ${SPARK_DAYS} days, ${formatUSD(s?.total ?? 0n)} in all`} />{" "}
                        <span class="spend">{formatUSD(s?.total ?? 0n)}</span>
                      </td>
                      <td class="actions-cell">
                        {canWriteTeam(caller, k.teamId) && k.state === KeyState.ACTIVE && (
                          <>
                            <button type="button" class="small" onClick={() => setConfirm({ kind: "rotate", key: k })} aria-label={`Rotate ${k.name || k.id}`}>
                              Rotate
                            </button>{" "}
                            <button type="button" class="small danger" onClick={() => setConfirm({ kind: "revoke", key: k })} aria-label={`Revoke ${k.name || k.id}`}>
                              Revoke
                            </button>
                          </>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </Card>

      <Dialog open={creating} title="New key" onClose={() => setCreating(false)} wide>
        <CreateKey
          teams={scope ?? teams.data ?? []}
          defaultTeam={team}
          free={isAdmin(caller)}
          onCancel={() => setCreating(false)}
          onCreated={(key, s) => {
            setCreating(false);
            setSecret({ title: "Key created", key, secret: s });
            keys.reload();
          }}
        />
      </Dialog>

      <Dialog open={confirm !== null} title={confirm?.kind === "revoke" ? "Revoke key" : "Rotate key"} onClose={() => setConfirm(null)}>
        {confirm?.kind === "revoke" && (
          <Form
            submit="Revoke"
            danger
            cancel={() => setConfirm(null)}
            onSubmit={async () => {
              await api.teams.revokeKey({ id: confirm.key.id });
              notify(`Revoked ${confirm.key.name || confirm.key.id}`);
              setConfirm(null);
              keys.reload();
            }}
          >
            <p class="wide">
              Requests with <b>{confirm.key.name || confirm.key.id}</b> ({confirm.key.secretPrefix}…) are refused from the next one on, on every replica. This cannot be
              undone.
            </p>
          </Form>
        )}
        {confirm?.kind === "rotate" && <RotateKey k={confirm.key} onCancel={() => setConfirm(null)} onRotated={(key, s) => (setConfirm(null), setSecret({ title: "Key rotated", key, secret: s }), keys.reload())} />}
      </Dialog>

      <Dialog open={secret !== null} title={secret?.title ?? ""} onClose={() => setSecret(null)}>
        {secret && (
          <div class="secret-box">
            <p>
              The secret of <b>{secret.key.name || secret.key.id}</b>. <strong>This is the only time it is shown:</strong> copy it now and keep it safe.
            </p>
            <div class="secret">
              <code id="new-secret">{secret.secret}</code>
              <Copy text={secret.secret} />
            </div>
            <div class="form-actions">
              <button type="button" class="primary" onClick={() => setSecret(null)} id="secret-done">
                Done
              </button>
            </div>
          </div>
        )}
      </Dialog>
    </Page>
  );
}

function CreateKey(props: { teams: string[]; defaultTeam: string; free: boolean; onCancel: () => void; onCreated: (k: VirtualKey, secret: string) => void }) {
  const { api } = useSession();
  const [name, setName] = useState("");
  const [team, setTeam] = useState(props.defaultTeam || props.teams[0] || "");
  const [service, setService] = useState("");
  const [models, setModels] = useState("");
  const [expires, setExpires] = useState("");
  const [tags, setTags] = useState("");
  const val = (f: (v: string) => void) => (e: Event) => f((e.target as HTMLInputElement).value);
  return (
    <Form
      submit="Create key"
      cancel={props.onCancel}
      onSubmit={async () => {
        const r = await api.teams.createKey({
          key: {
            name: name.trim(),
            teamId: team.trim(),
            serviceId: service.trim(),
            allowedModels: models
              .split(",")
              .map((m) => m.trim())
              .filter(Boolean),
            expireTime: expires ? timestamp(new Date(expires + "T23:59:59")) : undefined,
            tags: parseTags(tags),
          },
        });
        props.onCreated(r.key!, r.secret);
      }}
    >
      <Field label="Name">
        <input name="name" value={name} onInput={val(setName)} required placeholder="e.g. search-indexer-prod" />
      </Field>
      <Field label="Team">
        {props.free ? (
          <input name="team" value={team} onInput={val(setTeam)} required list="key-teams" />
        ) : (
          <Select value={team} onChange={setTeam} options={props.teams} name="team" />
        )}
        <datalist id="key-teams">
          {props.teams.map((t) => (
            <option key={t} value={t} />
          ))}
        </datalist>
      </Field>
      <Field label="Service" hint="Optional: the application within the team">
        <input name="service" value={service} onInput={val(setService)} />
      </Field>
      <Field label="Models" hint="Comma-separated models or routes; empty allows all">
        <input name="models" value={models} onInput={val(setModels)} />
      </Field>
      <Field label="Expires" hint="Optional: the key stops working after this day">
        <input name="expires" type="date" value={expires} onInput={val(setExpires)} />
      </Field>
      <Field label="Tags" hint='Recorded with every request, e.g. "env=prod, batch"'>
        <input name="tags" value={tags} onInput={val(setTags)} />
      </Field>
    </Form>
  );
}

const GRACE: [string, string][] = [
  ["0", "none: the old secret stops now"],
  ["3600", "1 hour"],
  ["86400", "1 day"],
  ["604800", "7 days"],
];

function RotateKey(props: { k: VirtualKey; onCancel: () => void; onRotated: (k: VirtualKey, secret: string) => void }) {
  const { api } = useSession();
  const [grace, setGrace] = useState("3600");
  return (
    <Form
      submit="Rotate"
      cancel={props.onCancel}
      onSubmit={async () => {
        const r = await api.teams.rotateKey({ id: props.k.id, gracePeriod: { seconds: BigInt(grace), nanos: 0 } });
        props.onRotated(r.key!, r.secret);
      }}
    >
      <p class="wide">
        A new secret for <b>{props.k.name || props.k.id}</b>. The old one keeps working for the grace period, so deployments can switch over.
      </p>
      <Field label="Grace period">
        <Select value={grace} onChange={setGrace} options={GRACE} name="grace" />
      </Field>
    </Form>
  );
}
