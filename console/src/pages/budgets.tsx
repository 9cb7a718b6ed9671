// Budgets: every budget's spend against its limit in the current period,
// with its reset time, threshold markers and the thresholds already
// crossed (alerts fire once per threshold and period); create and edit.

import { useState } from "preact/hooks";
import { canWriteAnyTeam, canWriteTeam, teamScope } from "../caller";
import { BudgetPeriod, GovernanceScope, type Budget, type BudgetStatus } from "../gen";
import { formatUSD, inputUSD, money, nanos, parseUSD } from "../money";
import { Bar, Card, Dialog, Empty, Field, Form, LoadStatus, Page, Select, Time, formatInt, formatRelative, toDate, useLoad, useSession } from "../ui";

const PERIODS: [string, string][] = [
  [String(BudgetPeriod.DAILY), "daily"],
  [String(BudgetPeriod.WEEKLY), "weekly"],
  [String(BudgetPeriod.MONTHLY), "monthly"],
  [String(BudgetPeriod.LIFETIME), "lifetime"],
];

const SCOPES: [string, string][] = [
  [String(GovernanceScope.TEAM), "team"],
  [String(GovernanceScope.SERVICE), "service"],
  [String(GovernanceScope.KEY), "key"],
];

function periodName(p: BudgetPeriod): string {
  return PERIODS.find(([v]) => v === String(p))?.[1] ?? "—";
}

function subject(b: Budget): string {
  switch (b.scope) {
    case GovernanceScope.KEY:
      return `key ${b.keyId}`;
    case GovernanceScope.SERVICE:
      return `service ${b.teamId}/${b.serviceId}`;
    default:
      return `team ${b.teamId}`;
  }
}

/** The alert thresholds of a budget (50, 80 and 100 by default). */
export function thresholds(b: Budget): number[] {
  return b.alertThresholds.length ? [...b.alertThresholds].sort((x, y) => x - y) : [50, 80, 100];
}

/** usedPercent is a status's spend in percent of its money limit (or token limit). */
export function usedPercent(s: BudgetStatus): number {
  const limit = nanos(s.budget?.limit);
  if (limit > 0n) return Number((nanos(s.spent) * 10000n) / limit) / 100;
  const tl = s.budget?.limitTokens ?? 0n;
  if (tl > 0n) return Number((s.spentTokens * 10000n) / tl) / 100;
  return 0;
}

export function BudgetsPage() {
  const { api, caller } = useSession();
  const scope = teamScope(caller);
  const [editing, setEditing] = useState<Budget | "new" | null>(null);
  const status = useLoad(async () => {
    const teams = scope ?? [""];
    const res = await Promise.all(teams.map((t) => api.usage.getBudgetStatus({ teamId: t })));
    return res.flatMap((r) => r.statuses);
  }, []);
  return (
    <Page
      title="Budgets"
      intro="Hard limits on spend per period. Every budget that applies to a request must have room for it; alerts fire once per threshold and period."
      actions={
        canWriteAnyTeam(caller) && (
          <button type="button" class="primary" onClick={() => setEditing("new")} id="new-budget">
            New budget
          </button>
        )
      }
    >
      <LoadStatus state={status} />
      {status.data && status.data.length === 0 && (
        <Card>
          <Empty>No budgets yet.</Empty>
        </Card>
      )}
      <div class="grid" id="budgets">
        {status.data?.map((s) => {
          const b = s.budget!;
          const pct = usedPercent(s);
          const th = thresholds(b);
          const reset = toDate(s.resetTime);
          const hasMoney = nanos(b.limit) > 0n;
          return (
            <Card
              key={b.id}
              title={b.id}
              class="budget"
              id={`budget-${b.id}`}
              actions={
                canWriteTeam(caller, b.teamId) && (
                  <button type="button" class="small" onClick={() => setEditing(b)} aria-label={`Edit budget ${b.id}`}>
                    Edit
                  </button>
                )
              }
            >
              <div class="kv">
                <span>{subject(b)}</span>
                <span>
                  <b>{periodName(b.period)}</b>
                  {b.timeZone && ` (${b.timeZone})`}
                </span>
              </div>
              <Bar
                value={pct}
                max={100}
                markers={th}
                label={`Budget ${b.id} used`}
                text={`${pct.toFixed(1)} % used`}
                tone={pct >= 100 ? "bad" : pct >= (th.at(-2) ?? 80) ? "warn" : "ok"}
              />
              <dl class="details">
                <dt>Spent</dt>
                <dd>
                  {hasMoney ? `${formatUSD(nanos(s.spent))} of ${formatUSD(nanos(b.limit))}` : `${formatInt(s.spentTokens)} of ${formatInt(b.limitTokens)} tokens`} ({pct.toFixed(1)} %)
                </dd>
                <dt>Remaining</dt>
                <dd>{hasMoney ? formatUSD(nanos(s.remaining)) : `${formatInt(s.remainingTokens)} tokens`}</dd>
                {nanos(s.reserved) > 0n && (
                  <>
                    <dt>In flight</dt>
                    <dd>{formatUSD(nanos(s.reserved))} reserved</dd>
                  </>
                )}
                <dt>Resets</dt>
                <dd>{reset ? <span title={reset.toLocaleString()}>{formatRelative(reset)}</span> : <span class="muted">never</span>}</dd>
                <dt>Alerts fired</dt>
                <dd class="alerts-fired">
                  {s.alertsFired.length ? (
                    s.alertsFired.map((a, i) => (
                      <span key={a.threshold}>
                        {i > 0 && ", "}
                        {a.threshold} % <span class="muted">(<Time at={a.fireTime} />)</span>
                      </span>
                    ))
                  ) : (
                    <span class="muted">none this period</span>
                  )}
                </dd>
              </dl>
            </Card>
          );
        })}
      </div>
      <Dialog open={editing !== null} title={editing === "new" ? "New budget" : `Edit budget ${(editing as Budget | null)?.id ?? ""}`} onClose={() => setEditing(null)} wide>
        {editing !== null && (
          <BudgetForm
            budget={editing === "new" ? undefined : editing}
            teams={scope}
            onCancel={() => setEditing(null)}
            onSaved={() => {
              setEditing(null);
              status.reload();
            }}
          />
        )}
      </Dialog>
    </Page>
  );
}

function BudgetForm(props: { budget?: Budget; teams: string[] | null; onCancel: () => void; onSaved: () => void }) {
  const { api, notify } = useSession();
  const b = props.budget;
  const [id, setId] = useState(b?.id ?? "");
  const [scopeKind, setScope] = useState(String(b?.scope ?? GovernanceScope.TEAM));
  const [team, setTeam] = useState(b?.teamId ?? props.teams?.[0] ?? "");
  const [service, setService] = useState(b?.serviceId ?? "");
  const [key, setKey] = useState(b?.keyId ?? "");
  const [period, setPeriod] = useState(String(b?.period ?? BudgetPeriod.MONTHLY));
  const [tz, setTz] = useState(b?.timeZone ?? "");
  const [limit, setLimit] = useState(b && nanos(b.limit) > 0n ? inputUSD(nanos(b.limit)) : "");
  const [tokens, setTokens] = useState(b && b.limitTokens > 0n ? String(b.limitTokens) : "");
  const [th, setTh] = useState(b ? thresholds(b).join(", ") : "50, 80, 100");
  const val = (f: (v: string) => void) => (e: Event) => f((e.target as HTMLInputElement).value);
  return (
    <Form
      submit={b ? "Save" : "Create budget"}
      cancel={props.onCancel}
      onSubmit={async () => {
        const sc = Number(scopeKind) as GovernanceScope;
        await api.policy.setBudget({
          budget: {
            id: id.trim(),
            scope: sc,
            teamId: team.trim(),
            serviceId: sc === GovernanceScope.SERVICE ? service.trim() : "",
            keyId: sc === GovernanceScope.KEY ? key.trim() : "",
            period: Number(period) as BudgetPeriod,
            timeZone: tz.trim(),
            limit: limit.trim() ? money(parseUSD(limit)) : undefined,
            limitTokens: tokens.trim() ? BigInt(tokens.trim()) : 0n,
            alertThresholds: th
              .split(",")
              .map((x) => x.trim())
              .filter(Boolean)
              .map((x) => {
                const n = Number(x.replace("%", ""));
                if (!Number.isInteger(n) || n <= 0) throw new Error(`"${x}" is not a percentage`);
                return n;
              }),
            etag: b?.etag ?? "",
          },
        });
        notify(`Saved budget ${id.trim()}`);
        props.onSaved();
      }}
    >
      <Field label="Id">
        <input name="id" value={id} onInput={val(setId)} required disabled={!!b} placeholder="e.g. search-monthly" />
      </Field>
      <Field label="Applies to">
        <Select value={scopeKind} onChange={setScope} options={SCOPES} name="scope" />
      </Field>
      <Field label="Team">
        {props.teams ? <Select value={team} onChange={setTeam} options={props.teams} name="team" /> : <input name="team" value={team} onInput={val(setTeam)} required />}
      </Field>
      {scopeKind === String(GovernanceScope.SERVICE) && (
        <Field label="Service">
          <input name="service" value={service} onInput={val(setService)} required />
        </Field>
      )}
      {scopeKind === String(GovernanceScope.KEY) && (
        <Field label="Key id">
          <input name="key" value={key} onInput={val(setKey)} required />
        </Field>
      )}
      <Field label="Period">
        <Select value={period} onChange={setPeriod} options={PERIODS} name="period" />
      </Field>
      <Field label="Time zone" hint='IANA name, e.g. "Europe/Paris"; empty is UTC'>
        <input name="tz" value={tz} onInput={val(setTz)} />
      </Field>
      <Field label="Limit (USD)" hint="Per period; empty for none">
        <input name="limit" value={limit} onInput={val(setLimit)} inputMode="decimal" />
      </Field>
      <Field label="Token limit" hint="Input + output tokens per period; empty for none">
        <input name="tokens" value={tokens} onInput={val(setTokens)} inputMode="numeric" />
      </Field>
      <Field label="Alert thresholds (%)">
        <input name="thresholds" value={th} onInput={val(setTh)} />
      </Field>
      {b && (
        <p class="muted wide">
          Created <Time at={b.createTime} />, changed <Time at={b.updateTime} />.
        </p>
      )}
    </Form>
  );
}
