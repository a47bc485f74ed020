import type { FormEvent } from "react";
import { JobSearchPage } from "../graphql/operations";
import type { EmploymentType, JobSearchPageQueryVariables } from "../generated/graphql";
import { Link, navigate } from "../navigation";
import { usePageQuery } from "../usePageQuery";
import { Empty, Logo, PageBody, PartialDataNotice, date, plural, inWords, NextPageButton } from "../components/states";
import { Salary } from "../components/Salary";

const pageSize = 10;
const employmentTypes: EmploymentType[] = ["FULL_TIME", "PART_TIME", "CONTRACT", "TEMPORARY"];

/** The search's filters and cursor live in the URL, so a result page can be shared and reloaded. */
function variablesFrom(location: URL): JobSearchPageQueryVariables {
  const search = location.searchParams.get("q") ?? "";
  const type = location.searchParams.get("type") as EmploymentType | null;
  return {
    first: pageSize,
    after: location.searchParams.get("after"),
    filter: {
      search: search || null,
      remote: location.searchParams.get("remote") === "1" ? true : null,
      employmentType: type && employmentTypes.includes(type) ? type : null,
    },
  };
}

export function JobSearch({ location }: { location: URL }) {
  const variables = variablesFrom(location);
  const state = usePageQuery(JobSearchPage, variables);

  const applyFilters = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const parameters = new URLSearchParams();
    const search = String(form.get("q") ?? "").trim();
    if (search) parameters.set("q", search);
    if (form.get("remote")) parameters.set("remote", "1");
    const type = String(form.get("type") ?? "");
    if (type) parameters.set("type", type);
    navigate(`/?${parameters}`);
  };


  return (
    <section>
      <h1>Jobs</h1>
      <form className="filters" onSubmit={applyFilters} role="search" aria-label="Job filters">
        <label>
          Title contains
          <input name="q" type="search" defaultValue={variables.filter?.search ?? ""} />
        </label>
        <label>
          Employment type
          <select name="type" defaultValue={variables.filter?.employmentType ?? ""}>
            <option value="">Any</option>
            {employmentTypes.map((type) => (
              <option key={type} value={type}>
                {inWords(type)}
              </option>
            ))}
          </select>
        </label>
        <label className="checkbox">
          <input name="remote" type="checkbox" defaultChecked={variables.filter?.remote === true} />
          Remote only
        </label>
        <button type="submit">Search</button>
      </form>
      <PageBody state={state}>
        {(data, errors) => {
          const edges = data.jobs.edges;
          // The router reports a failed entity fetch at the job node it was
          // enriching. Payment contributes only `promotion` to a job card,
          // and every other field is non-null, so errors on job nodes whose
          // promotions all came back empty mean the promotions are missing.
          const promotionsMissing =
            errors.some((error) => error.path?.[0] === "jobs") &&
            edges.every(({ node }) => node.promotion === null);
          return (
            <>
              {promotionsMissing ? (
                <div className="notice" role="status" data-testid="promotions-notice">
                  Featured jobs are not marked right now: promotions are unavailable. The list is complete.
                </div>
              ) : (
                <PartialDataNotice errors={errors} />
              )}
              {edges.length === 0 ? (
                <Empty>No open jobs match these filters.</Empty>
              ) : (
                <ol className="cards" data-testid="job-list">
                  {edges.map(({ node: job }) => (
                    <li key={job.id} className="card" data-testid="job-card" data-job-id={job.id}>
                      <Logo url={job.organization.logoUrl} name={job.organization.name} />
                      <div>
                        <h2>
                          <Link href={`/jobs/${job.id}`} data-testid="job-title">
                            {job.title}
                          </Link>
                          {job.promotion && (
                            <span className="badge promoted" data-testid="promotion">
                              {job.promotion.tier.toLowerCase()}
                            </span>
                          )}
                        </h2>
                        <p>
                          <Link href={`/organizations/${job.organization.slug}`} data-testid="organization-name">
                            {job.organization.name}
                          </Link>
                          {job.organization.verified && <span className="badge">verified</span>} · {job.location}
                          {job.remote && " · remote"} · {inWords(job.employmentType)}
                        </p>
                        <p className="meta">
                          <Salary range={job.salaryRange} /> · posted {date(job.postedAt)} ·{" "}
                          <span data-testid="application-count">{job.applicationCount}</span> {plural(job.applicationCount, "applicant")}
                          {job.viewerHasApplied && <span className="badge">applied</span>}
                        </p>
                      </div>
                    </li>
                  ))}
                </ol>
              )}
              <nav className="pagination" aria-label="Result pages">
                {variables.after && (
                  <Link href={`/?${withoutCursor(location)}`} data-testid="first-page">
                    First page
                  </Link>
                )}
                {data.jobs.pageInfo.hasNextPage && data.jobs.pageInfo.endCursor && (
                  <NextPageButton location={location} endCursor={data.jobs.pageInfo.endCursor} />
                )}
              </nav>
            </>
          );
        }}
      </PageBody>
    </section>
  );
}

function withoutCursor(location: URL): URLSearchParams {
  const parameters = new URLSearchParams(location.search);
  parameters.delete("after");
  return parameters;
}
