// Teams and services: the teams, their services (named by their keys),
// and what each spent in the last 30 days.

import { useState } from "preact/hooks";
import { listAll } from "../api";
import { canWriteCatalog, teamScope } from "../caller";
import { UsageDimension, type Team } from "../gen";
import { formatUSD, nanos } from "../money";
import { href, useNav } from "../router";
import { DAY } from "../spend";
import { Card, Dialog, Empty, Field, Form, LoadStatus, Page, Time, formatInt, timestamp, useLoad, useSession } from "../ui";

export function TeamsPage() {
  const { api, caller, notify } = useSession();
  const { navigate } = useNav();
  const scope = teamScope(caller);
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<Team | null>(null);
  const data = useLoad(async () => {
    const teams: Team[] = scope
      ? await Promise.all(scope.map(async (id) => (await api.teams.getTeam({ id })).team!))
      : await listAll((pageToken) => api.teams.listTeams({ pageToken, pageSize: 1000 }), (r) => r.teams);
    const end = new Date();
    const start = new Date(end.getTime() - 30 * DAY);
    const sums = await Promise.all(
      (scope ?? [""]).map((t) =>
        api.usage.getUsageSummary({ startTime: timestamp(start), endTime: timestamp(end), teamId: t, groupBy: [UsageDimension.TEAM, UsageDimension.SERVICE] }),
      ),
    );
    const keys = await Promise.all(
      (scope ?? [""]).map((t) => listAll((pageToken) => api.teams.listKeys({ teamId: t, pageToken, pageSize: 1000 }), (r) => r.keys, 5000)),
    );
    // Services exist through their keys; spend names the ones that spent.
    const services = new Map<string, Map<string, { keys: number; cost: bigint; requests: bigint }>>();
    const svc = (team: string, s: string) => {
      const m = services.get(team) ?? new Map();
      services.set(team, m);
      const e = m.get(s) ?? { keys: 0, cost: 0n, requests: 0n };
      m.set(s, e);
      return e;
    };
    for (const k of keys.flat()) svc(k.teamId, k.serviceId).keys++;
    for (const g of sums.flatMap((s) => s.groups)) {
      const e = svc(g.keys[0], g.keys[1]);
      e.cost += nanos(g.cost);
      e.requests += g.requests;
    }
    return { teams, services };
  }, []);
  return (
    <Page
      title="Teams and services"
      intro="Teams own keys and spend; a service is an application within a team, named on its keys."
      actions={
        canWriteCatalog(caller) && (
          <button type="button" class="primary" onClick={() => setCreating(true)} id="new-team">
            New team
          </button>
        )
      }
    >
      <LoadStatus state={data} />
      {data.data && data.data.teams.length === 0 && (
        <Card>
          <Empty>No teams yet.</Empty>
        </Card>
      )}
      {data.data?.teams.map((t) => {
        const services = [...(data.data!.services.get(t.id)?.entries() ?? [])].sort((a, b) => (a[1].cost === b[1].cost ? a[0].localeCompare(b[0]) : a[1].cost > b[1].cost ? -1 : 1));
        const total = services.reduce((s, [, e]) => s + e.cost, 0n);
        return (
          <Card
            key={t.id}
            id={`team-${t.id}`}
            title={
              <>
                {t.displayName || t.id} <span class="muted mono">{t.id}</span>
              </>
            }
            actions={
              <>
                <a class="button small" href={href(`spend?team=${encodeURIComponent(t.id)}&by=service`)} onClick={(e) => (e.preventDefault(), navigate(`spend?team=${encodeURIComponent(t.id)}&by=service`))}>
                  Spend
                </a>
                <a class="button small" href={href(`keys?team=${encodeURIComponent(t.id)}`)} onClick={(e) => (e.preventDefault(), navigate(`keys?team=${encodeURIComponent(t.id)}`))}>
                  Keys
                </a>
                {canWriteCatalog(caller) && (
                  <button type="button" class="small danger" onClick={() => setDeleting(t)} aria-label={`Delete team ${t.id}`}>
                    Delete
                  </button>
                )}
              </>
            }
          >
            <div class="kv">
              <span>
                <b>{formatUSD(total)}</b> in 30 days
              </span>
              <span>
                created <Time at={t.createTime} />
              </span>
              {Object.entries(t.labels).map(([k, v]) => (
                <span class="pill" key={k}>
                  {k}={v}
                </span>
              ))}
            </div>
            {services.length === 0 ? (
              <Empty>No keys or spend yet.</Empty>
            ) : (
              <div class="table-wrap">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Service</th>
                      <th scope="col" class="num">
                        Active keys
                      </th>
                      <th scope="col" class="num">
                        Requests, 30 days
                      </th>
                      <th scope="col" class="num">
                        Spend, 30 days
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {services.map(([s, e]) => (
                      <tr key={s}>
                        <th scope="row">{s || <span class="muted">(no service)</span>}</th>
                        <td class="num">{e.keys}</td>
                        <td class="num">{formatInt(e.requests)}</td>
                        <td class="num">{formatUSD(e.cost)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </Card>
        );
      })}
      <Dialog open={creating} title="New team" onClose={() => setCreating(false)}>
        <NewTeam
          onCancel={() => setCreating(false)}
          onCreated={() => {
            setCreating(false);
            data.reload();
          }}
        />
      </Dialog>
      <Dialog open={deleting !== null} title="Delete team" onClose={() => setDeleting(null)}>
        {deleting && (
          <Form
            submit="Delete"
            danger
            cancel={() => setDeleting(null)}
            onSubmit={async () => {
              await api.teams.deleteTeam({ id: deleting.id, etag: deleting.etag });
              notify(`Deleted team ${deleting.id}`);
              setDeleting(null);
              data.reload();
            }}
          >
            <p class="wide">
              Delete team <b>{deleting.id}</b>? A team with active keys cannot be deleted: revoke them first.
            </p>
          </Form>
        )}
      </Dialog>
    </Page>
  );
}

function NewTeam(props: { onCancel: () => void; onCreated: () => void }) {
  const { api, notify } = useSession();
  const [id, setId] = useState("");
  const [name, setName] = useState("");
  return (
    <Form
      submit="Create team"
      cancel={props.onCancel}
      onSubmit={async () => {
        await api.teams.createTeam({ team: { id: id.trim(), displayName: name.trim() } });
        notify(`Created team ${id.trim()}`);
        props.onCreated();
      }}
    >
      <Field label="Id" hint="Lower-case letters, digits and '-'">
        <input name="id" value={id} onInput={(e) => setId((e.target as HTMLInputElement).value)} required pattern="[a-z0-9][a-z0-9\-]*" />
      </Field>
      <Field label="Display name">
        <input name="display-name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      </Field>
    </Form>
  );
}
