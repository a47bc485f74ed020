import { useState } from "react";
import { execute, type GraphQLErrorEntry } from "../graphql/client";
import { ApplyToJob, JobDetailPage } from "../graphql/operations";
import { Link } from "../navigation";
import { accessTokenOf, useSession } from "../session";
import { usePageQuery } from "../usePageQuery";
import { Empty, ErrorMessage, Logo, PageBody, PartialDataNotice, date, plural, inWords } from "../components/states";
import { Salary } from "../components/Salary";
import type { JobDetailPageQuery } from "../generated/graphql";

type OrganizationPart = NonNullable<JobDetailPageQuery["job"]>["organization"];
/** The organization once its deferred part arrived: every field present. */
type LoadedOrganization = { [Field in keyof OrganizationPart]-?: Exclude<OrganizationPart[Field], undefined> };

/**
 * The deferred part arrives whole (one `incremental` entry), so one of its
 * fields being present means all are.
 */
function loaded(organization: OrganizationPart): LoadedOrganization | null {
  return organization.internships !== undefined ? (organization as LoadedOrganization) : null;
}

export function JobDetail({ jobId }: { jobId: string }) {
  const state = usePageQuery(JobDetailPage, { jobId, internshipsFirst: 3 });
  return (
    <PageBody state={state}>
      {(data, errors, complete) => {
        const job = data.job;
        if (!job) return <ErrorMessage errors={[{ message: "no job", extensions: { code: "NOT_FOUND" } }]} />;
        const organization = loaded(job.organization);
        return (
          <article className="job-detail">
            <PartialDataNotice errors={errors} />
            <h1 data-testid="job-title">{job.title}</h1>
            <p className="meta">
              {job.location}
              {job.remote && " · remote"} · {inWords(job.employmentType)} · posted{" "}
              {date(job.postedAt)} · <Salary range={job.salaryRange} />
            </p>
            <p>
              <span data-testid="application-count">{job.applicationCount}</span> {plural(job.applicationCount, "applicant")}
              {job.status !== "OPEN" && <span className="badge">{job.status.toLowerCase()}</span>}
            </p>
            <ApplyButton jobId={job.id} alreadyApplied={job.viewerHasApplied} open={job.status === "OPEN"} />
            <p className="description">{job.description}</p>
            {job.postedBy && (
              <p className="meta">
                Posted by <span data-testid="posted-by">{job.postedBy.displayName}</span>
                {job.postedBy.headline && `, ${job.postedBy.headline}`}
              </p>
            )}
            <section className="organization" aria-label="Organization" data-testid="organization-section">
              {organization ? (
                <>
                  <h2>
                    <Logo url={organization.logoUrl} name={organization.name} />
                    <Link href={`/organizations/${organization.slug}`} data-testid="organization-name">
                      {organization.name}
                    </Link>
                    {organization.verified && <span className="badge">verified</span>}
                  </h2>
                  <p>{organization.about}</p>
                  <p className="meta">
                    {organization.industry} · {organization.size} ·{" "}
                    <span data-testid="open-jobs-count">{organization.openJobsCount}</span> open jobs
                  </p>
                  <h3>Internships</h3>
                  {organization.internships.edges.length === 0 ? (
                    <Empty>No internships right now.</Empty>
                  ) : (
                    <ul data-testid="internship-list">
                      {organization.internships.edges.map(({ node }) => (
                        <li key={node.id} data-testid="internship">
                          {node.title} · {node.kind.toLowerCase()} · starts {date(node.startsOn)}
                        </li>
                      ))}
                    </ul>
                  )}
                </>
              ) : complete ? (
                <Empty>The organization could not be loaded.</Empty>
              ) : (
                <p className="loading" aria-busy="true" data-testid="deferred-loading">
                  Loading the organization…
                </p>
              )}
            </section>
          </article>
        );
      }}
    </PageBody>
  );
}

function ApplyButton({ jobId, alreadyApplied, open }: { jobId: string; alreadyApplied: boolean; open: boolean }) {
  const { session } = useSession();
  const [outcome, setOutcome] = useState<"idle" | "sending" | "applied" | GraphQLErrorEntry[]>(
    alreadyApplied ? "applied" : "idle",
  );
  if (session.status !== "signed-in" || !session.roles.includes("JOBSEEKER")) {
    return (
      <p className="meta">
        <Link href="/sign-in">Sign in as a jobseeker</Link> to apply.
      </p>
    );
  }
  if (outcome === "applied") {
    return (
      <p className="success" data-testid="applied">
        You applied for this job.
      </p>
    );
  }
  if (!open) return null;
  const apply = async () => {
    setOutcome("sending");
    const result = await execute(ApplyToJob, { jobId, coverLetter: null }, { accessToken: accessTokenOf(session) });
    setOutcome(result.data?.applyToJob ? "applied" : result.errors);
  };
  return (
    <div>
      <button type="button" onClick={apply} disabled={outcome === "sending"} data-testid="apply">
        {outcome === "sending" ? "Applying…" : "Apply"}
      </button>
      {Array.isArray(outcome) && <ErrorMessage errors={outcome} />}
    </div>
  );
}
