// Providers and models: the upstreams with their live health (breaker,
// latency estimate, attempts in flight, as the answering replica sees
// them) and the models they serve with prices. Credentials are write-only:
// they can be set or replaced, never read.

import { useState } from "preact/hooks";
import { listAll } from "../api";
import { canWriteCatalog } from "../caller";
import { BreakerState, ProviderType, type Provider, type TargetHealth } from "../gen";
import { formatUSD, nanos } from "../money";
import { Card, Dialog, Empty, Field, Form, LoadStatus, Page, Select, durationMs, formatInt, formatMs, useInterval, useLoad, useSession } from "../ui";

export const PROVIDER_TYPES: [string, string][] = [
  [String(ProviderType.OPENAI), "OpenAI"],
  [String(ProviderType.OPENAI_COMPATIBLE), "OpenAI-compatible"],
  [String(ProviderType.ANTHROPIC), "Anthropic"],
  [String(ProviderType.AZURE_OPENAI), "Azure OpenAI"],
  [String(ProviderType.GEMINI), "Gemini"],
  [String(ProviderType.BEDROCK), "Amazon Bedrock"],
  [String(ProviderType.VERTEX), "Google Vertex AI"],
  [String(ProviderType.MISTRAL), "Mistral"],
  [String(ProviderType.GROQ), "Groq"],
  [String(ProviderType.DEEPSEEK), "DeepSeek"],
  [String(ProviderType.TOGETHER), "Together AI"],
  [String(ProviderType.FIREWORKS), "Fireworks AI"],
  [String(ProviderType.OPENROUTER), "OpenRouter"],
  [String(ProviderType.XAI), "xAI"],
  [String(ProviderType.CEREBRAS), "Cerebras"],
  [String(ProviderType.PERPLEXITY), "Perplexity"],
  [String(ProviderType.OLLAMA), "Ollama"],
  [String(ProviderType.VLLM), "vLLM"],
  [String(ProviderType.LLAMA_CPP), "llama.cpp"],
  [String(ProviderType.LM_STUDIO), "LM Studio"],
  [String(ProviderType.TGI), "TGI"],
];

/** breaker returns a breaker state's name and tone. */
export function breaker(b: BreakerState): [string, "ok" | "warn" | "bad"] {
  switch (b) {
    case BreakerState.OPEN:
      return ["open", "bad"];
    case BreakerState.HALF_OPEN:
      return ["half-open", "warn"];
    default:
      return ["closed", "ok"];
  }
}

export function HealthCells(props: { h?: TargetHealth }) {
  if (!props.h)
    return (
      <>
        <td>
          <span class="muted">not used yet</span>
        </td>
        <td class="num">—</td>
        <td class="num">—</td>
      </>
    );
  const [b, tone] = breaker(props.h.breaker);
  return (
    <>
      <td>
        <span class={"pill " + tone}>{b}</span>
        {props.h.consecutiveFailures > 0 && <span class="muted"> {props.h.consecutiveFailures} failures</span>}
      </td>
      <td class="num">{formatMs(durationMs(props.h.latencyEwma))}</td>
      <td class="num">{props.h.inFlight}</td>
    </>
  );
}

export function ProvidersPage() {
  const { api, caller } = useSession();
  const [editing, setEditing] = useState<Provider | "new" | null>(null);
  const providers = useLoad(() => listAll((pageToken) => api.catalog.listProviders({ pageToken, pageSize: 1000 }), (r) => r.providers), []);
  const models = useLoad(() => listAll((pageToken) => api.catalog.listAllModels({ pageToken, pageSize: 1000 }), (r) => r.models), []);
  useInterval(providers.reload, 5000);
  const write = canWriteCatalog(caller);
  return (
    <Page
      title="Providers and models"
      intro="Health is live from the replica that answered: the circuit breaker, the latency estimate (peak EWMA) and attempts in flight per upstream model."
      actions={
        write && (
          <button type="button" class="primary" onClick={() => setEditing("new")} id="new-provider">
            New provider
          </button>
        )
      }
    >
      <LoadStatus state={providers} />
      {providers.data?.length === 0 && (
        <Card>
          <Empty>No providers yet.</Empty>
        </Card>
      )}
      {providers.data?.map((p) => {
        const served = models.data?.filter((m) => m.providerId === p.id) ?? [];
        const names = new Set([...served.map((m) => m.upstreamModel || m.name), ...p.targets.map((t) => t.model)]);
        const health = new Map(p.targets.map((t) => [t.model, t]));
        return (
          <Card
            key={p.id}
            id={`provider-${p.id}`}
            title={
              <>
                {p.id} <span class="pill">{PROVIDER_TYPES.find(([t]) => t === String(p.type))?.[1] ?? "unknown"}</span>
              </>
            }
            actions={
              write && (
                <button type="button" class="small" onClick={() => setEditing(p)} aria-label={`Edit provider ${p.id}`}>
                  Edit
                </button>
              )
            }
          >
            <div class="kv">
              <span>
                URL <b class="mono">{p.baseUrl || "default"}</b>
              </span>
              <span>
                credential <b>{p.hasCredential ? "stored (write-only)" : "none"}</b>
              </span>
              {Object.entries(p.settings).map(([k, v]) => (
                <span key={k} class="pill">
                  {k}={v}
                </span>
              ))}
            </div>
            {names.size === 0 ? (
              <Empty>No models.</Empty>
            ) : (
              <div class="table-wrap">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Upstream model</th>
                      <th scope="col">Served as</th>
                      <th scope="col">Breaker</th>
                      <th scope="col" class="num">
                        Latency (EWMA)
                      </th>
                      <th scope="col" class="num">
                        In flight
                      </th>
                      <th scope="col" class="num">
                        Input / 1M
                      </th>
                      <th scope="col" class="num">
                        Output / 1M
                      </th>
                      <th scope="col" class="num">
                        Context
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {[...names].sort().map((n) => {
                      const ms = served.filter((m) => (m.upstreamModel || m.name) === n);
                      const m = ms[0];
                      return (
                        <tr key={n} data-model={n}>
                          <th scope="row" class="mono">
                            {n}
                          </th>
                          <td>{ms.length ? ms.map((x) => x.name + (x.embedding ? " (embedding)" : "")).join(", ") : <span class="muted">route target</span>}</td>
                          <HealthCells h={health.get(n)} />
                          <td class="num">{m?.pricing?.inputPerMillion ? formatUSD(nanos(m.pricing.inputPerMillion)) : "—"}</td>
                          <td class="num">{m?.pricing?.outputPerMillion ? formatUSD(nanos(m.pricing.outputPerMillion)) : "—"}</td>
                          <td class="num">{m?.contextWindow ? formatInt(m.contextWindow) : "—"}</td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              </div>
            )}
          </Card>
        );
      })}
      <Dialog open={editing !== null} title={editing === "new" ? "New provider" : `Edit provider ${(editing as Provider | null)?.id ?? ""}`} onClose={() => setEditing(null)} wide>
        {editing !== null && (
          <ProviderForm
            provider={editing === "new" ? undefined : editing}
            onCancel={() => setEditing(null)}
            onSaved={() => {
              setEditing(null);
              providers.reload();
            }}
          />
        )}
      </Dialog>
    </Page>
  );
}

function ProviderForm(props: { provider?: Provider; onCancel: () => void; onSaved: () => void }) {
  const { api, notify } = useSession();
  const p = props.provider;
  const [id, setId] = useState(p?.id ?? "");
  const [type, setType] = useState(String(p?.type ?? ProviderType.OPENAI));
  const [baseUrl, setBaseUrl] = useState(p?.baseUrl ?? "");
  const [settings, setSettings] = useState(
    Object.entries(p?.settings ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(", "),
  );
  const [credential, setCredential] = useState("");
  const val = (f: (v: string) => void) => (e: Event) => f((e.target as HTMLInputElement).value);
  const parsedSettings = () =>
    Object.fromEntries(
      settings
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)
        .map((s) => {
          const [k, ...v] = s.split("=");
          return [k.trim(), v.join("=").trim()];
        }),
    );
  return (
    <Form
      submit={p ? "Save" : "Create provider"}
      cancel={props.onCancel}
      onSubmit={async () => {
        if (p) {
          const mask = ["base_url", "settings", ...(credential ? ["credential"] : [])];
          await api.catalog.updateProvider({
            provider: { id: p.id, baseUrl: baseUrl.trim(), settings: parsedSettings(), etag: p.etag },
            credential,
            updateMask: { paths: mask },
          });
        } else {
          await api.catalog.createProvider({
            provider: { id: id.trim(), type: Number(type) as ProviderType, baseUrl: baseUrl.trim(), settings: parsedSettings() },
            credential,
          });
        }
        setCredential("");
        notify(`Saved provider ${p?.id ?? id.trim()}`);
        props.onSaved();
      }}
    >
      <Field label="Id">
        <input name="id" value={id} onInput={val(setId)} required disabled={!!p} />
      </Field>
      <Field label="Type">
        {p ? <input value={PROVIDER_TYPES.find(([t]) => t === type)?.[1]} disabled /> : <Select value={type} onChange={setType} options={PROVIDER_TYPES} name="type" />}
      </Field>
      <Field label="Base URL" hint="Empty for the type's default">
        <input name="base-url" value={baseUrl} onInput={val(setBaseUrl)} type="url" />
      </Field>
      <Field label="Settings" hint='e.g. "api_version=2024-10-21"'>
        <input name="settings" value={settings} onInput={val(setSettings)} />
      </Field>
      <Field label={p ? "Replace credential" : "Credential"} hint={p ? "Write-only: leave empty to keep the stored one" : "Write-only: stored encrypted, never shown again"} wide>
        <input name="credential" type="password" autocomplete="new-password" value={credential} onInput={val(setCredential)} />
      </Field>
    </Form>
  );
}
