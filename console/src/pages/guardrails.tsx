// Guardrails: the policies and where they are attached, and what the
// guardrails did recently (verdict counts over the last day and the latest
// requests they acted on — names, actions and categories, never text).

import { listAll } from "../api";
import { GuardrailAttachKind, GuardrailMode, GuardrailOnMatch, GuardrailStage, UsageDimension, type GuardrailVerdict } from "../gen";
import { href, useNav } from "../router";
import { DAY } from "../spend";
import { Card, Empty, LoadStatus, Page, Time, formatInt, timestamp, useLoad, useSession } from "../ui";

const ATTACH: Record<number, string> = {
  [GuardrailAttachKind.TEAM]: "team",
  [GuardrailAttachKind.SERVICE]: "service",
  [GuardrailAttachKind.KEY]: "key",
  [GuardrailAttachKind.ROUTE]: "route",
};

const STAGE: Record<number, string> = {
  [GuardrailStage.UNSPECIFIED]: "input",
  [GuardrailStage.INPUT]: "input",
  [GuardrailStage.OUTPUT]: "output",
  [GuardrailStage.BOTH]: "input and output",
};

/** verdictText describes one verdict ("pii/emails: block (email ×2)"). */
export function verdictText(v: GuardrailVerdict): string {
  const cats = v.categories.length ? ` (${v.categories.join(", ")}${v.count > 1 ? ` ×${v.count}` : ""})` : "";
  return `${v.policy}/${v.guardrail}: ${v.action}${cats}`;
}

export function GuardrailsPage() {
  const { api } = useSession();
  const { navigate } = useNav();
  const policies = useLoad(() => listAll((pageToken) => api.policy.listGuardrailPolicies({ pageToken, pageSize: 1000 }), (r) => r.policies), []);
  const counts = useLoad(async () => {
    const end = new Date();
    const r = await api.usage.getUsageSummary({ startTime: timestamp(new Date(end.getTime() - DAY)), endTime: timestamp(end), groupBy: [UsageDimension.GUARDRAIL] });
    return r.groups.sort((a, b) => (a.requests === b.requests ? 0 : a.requests > b.requests ? -1 : 1));
  }, []);
  const recent = useLoad(async () => {
    const end = new Date();
    const res = await api.usage.listRequestRecords({ startTime: timestamp(new Date(end.getTime() - DAY)), endTime: timestamp(end), pageSize: 1000 });
    return res.records.filter((r) => r.guardrailVerdicts.length > 0).slice(0, 50);
  }, []);
  return (
    <Page title="Guardrails" intro="Checks on prompts and answers, attached to teams, services, keys and routes. Verdicts name the guardrail and categories, never the text.">
      <Card title="Verdicts, last 24 hours">
        <LoadStatus state={counts} />
        {counts.data?.length === 0 && <Empty>No guardrail acted in the last 24 hours.</Empty>}
        {counts.data && counts.data.length > 0 && (
          <div class="table-wrap">
            <table id="verdict-counts">
              <thead>
                <tr>
                  <th scope="col">Guardrail and action</th>
                  <th scope="col" class="num">
                    Requests
                  </th>
                </tr>
              </thead>
              <tbody>
                {counts.data.map((g) => (
                  <tr key={g.keys[0]}>
                    <th scope="row" class="mono">
                      {g.keys[0]}
                    </th>
                    <td class="num">{formatInt(g.requests)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
      <Card title="Recent verdicts">
        <LoadStatus state={recent} />
        {recent.data?.length === 0 && <Empty>No recent request was flagged, blocked or rewritten.</Empty>}
        {recent.data && recent.data.length > 0 && (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Team / key</th>
                  <th scope="col">Model</th>
                  <th scope="col">Verdicts</th>
                  <th scope="col">
                    <span class="visually-hidden">Details</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {recent.data.map((r) => (
                  <tr key={r.requestId}>
                    <td>
                      <Time at={r.time} seconds />
                    </td>
                    <td>
                      {r.teamId} <span class="muted mono">{r.keyId}</span>
                    </td>
                    <td>{r.requestedModel}</td>
                    <td>
                      <div class="tags">
                        {r.guardrailVerdicts.map((v, i) => (
                          <span key={i} class={"pill " + (v.action === "block" ? "bad" : v.action === "flag" ? "warn" : "")}>
                            {verdictText(v)}
                          </span>
                        ))}
                      </div>
                    </td>
                    <td>
                      <a
                        href={href(`requests?id=${encodeURIComponent(r.requestId)}`)}
                        onClick={(e) => (e.preventDefault(), navigate(`requests?id=${encodeURIComponent(r.requestId)}`))}
                      >
                        Request
                      </a>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
      <LoadStatus state={policies} />
      {policies.data?.length === 0 && (
        <Card title="Policies">
          <Empty>No guardrail policies.</Empty>
        </Card>
      )}
      {policies.data?.map((p) => (
        <Card
          key={p.id}
          title={
            <>
              {p.id}{" "}
              <span class="pill">
                {ATTACH[p.attachKind] ?? "?"} {p.attachTo}
              </span>
            </>
          }
        >
          {p.description && <p class="muted">{p.description}</p>}
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Guardrail</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Stage</th>
                  <th scope="col">On a match</th>
                  <th scope="col">If it fails</th>
                </tr>
              </thead>
              <tbody>
                {p.guardrails.map((g) => (
                  <tr key={g.name}>
                    <th scope="row">{g.name}</th>
                    <td>{g.kind}</td>
                    <td>{STAGE[g.stage]}</td>
                    <td>{g.mode === GuardrailMode.MUTATE ? "rewrite" : g.onMatch === GuardrailOnMatch.FLAG ? "flag" : "block"}</td>
                    <td>{g.failOpen ? "let through" : "refuse"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </Card>
      ))}
    </Page>
  );
}
