import type { FormEvent } from "react";
import { InternshipBrowsePage } from "../graphql/operations";
import type { InternshipBrowsePageQueryVariables, InternshipKind } from "../generated/graphql";
import { Link, navigate } from "../navigation";
import { usePageQuery } from "../usePageQuery";
import { Empty, Logo, PageBody, PartialDataNotice, date, money, NextPageButton } from "../components/states";

const pageSize = 10;
const kinds: InternshipKind[] = ["INTERNSHIP", "APPRENTICESHIP"];

function variablesFrom(location: URL): InternshipBrowsePageQueryVariables {
  const kind = location.searchParams.get("kind") as InternshipKind | null;
  return {
    first: pageSize,
    after: location.searchParams.get("after"),
    filter: {
      kind: kind && kinds.includes(kind) ? kind : null,
      remote: location.searchParams.get("remote") === "1" ? true : null,
    },
  };
}

export function InternshipBrowse({ location }: { location: URL }) {
  const variables = variablesFrom(location);
  const state = usePageQuery(InternshipBrowsePage, variables);

  const applyFilters = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const parameters = new URLSearchParams();
    const kind = String(form.get("kind") ?? "");
    if (kind) parameters.set("kind", kind);
    if (form.get("remote")) parameters.set("remote", "1");
    navigate(`/internships?${parameters}`);
  };

  return (
    <section>
      <h1>Internships and apprenticeships</h1>
      <form className="filters" onSubmit={applyFilters} aria-label="Internship filters">
        <label>
          Kind
          <select name="kind" defaultValue={variables.filter?.kind ?? ""}>
            <option value="">Any</option>
            {kinds.map((kind) => (
              <option key={kind} value={kind}>
                {kind.toLowerCase()}
              </option>
            ))}
          </select>
        </label>
        <label className="checkbox">
          <input name="remote" type="checkbox" defaultChecked={variables.filter?.remote === true} />
          Remote only
        </label>
        <button type="submit">Filter</button>
      </form>
      <PageBody state={state}>
        {(data, errors) => (
          <>
            <PartialDataNotice errors={errors} />
            {data.internships.edges.length === 0 ? (
              <Empty>No internships match these filters.</Empty>
            ) : (
              <ol className="cards" data-testid="internship-list">
                {data.internships.edges.map(({ node }) => (
                  <li key={node.id} className="card" data-testid="internship" data-internship-id={node.id}>
                    <Logo url={node.organization.logoUrl} name={node.organization.name} />
                    <div>
                      <h2 data-testid="internship-title">{node.title}</h2>
                      <p>
                        <span data-testid="organization-name">{node.organization.name}</span> · {node.kind.toLowerCase()} ·{" "}
                        {node.durationWeeks} weeks from {date(node.startsOn)}
                        {node.remote ? " · remote" : node.location ? ` · ${node.location}` : ""}
                      </p>
                      <p className="meta">
                        {node.stipend
                          ? `${money(node.stipend.amount * 100, node.stipend.currency)} a ${node.stipend.period.toLowerCase()}`
                          : "unpaid"}{" "}
                        · apply by {date(node.applicationDeadline)}
                        {node.mentor && ` · mentor ${node.mentor.displayName}`}
                      </p>
                      {node.skills.length > 0 && (
                        <p className="skills">
                          {node.skills.map((skill) => (
                            <span key={skill.id} className="badge">
                              {skill.name}
                            </span>
                          ))}
                        </p>
                      )}
                    </div>
                  </li>
                ))}
              </ol>
            )}
            <nav className="pagination" aria-label="Result pages">
              {variables.after && <Link href="/internships">First page</Link>}
              {data.internships.pageInfo.hasNextPage && data.internships.pageInfo.endCursor && (
<NextPageButton location={location} endCursor={data.internships.pageInfo.endCursor} />
              )}
            </nav>
          </>
        )}
      </PageBody>
    </section>
  );
}
