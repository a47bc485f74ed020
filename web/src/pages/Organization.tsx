import { OrganizationPage } from "../graphql/operations";
import { Link } from "../navigation";
import { usePageQuery } from "../usePageQuery";
import { Empty, ErrorMessage, Logo, PageBody, PartialDataNotice, date } from "../components/states";

export function Organization({ slug }: { slug: string }) {
  const state = usePageQuery(OrganizationPage, { slug, jobsFirst: 10, internshipsFirst: 5 });
  return (
    <PageBody state={state}>
      {(data, errors) => {
        const organization = data.organization;
        if (!organization) {
          return <ErrorMessage errors={[{ message: "no organization", extensions: { code: "NOT_FOUND" } }]} />;
        }
        return (
          <article>
            <PartialDataNotice errors={errors} />
            <h1>
              <Logo url={organization.logoUrl} name={organization.name} />
              <span data-testid="organization-name">{organization.name}</span>
              {organization.verified && <span className="badge">verified</span>}
              {organization.billingVerified && <span className="badge">billing verified</span>}
            </h1>
            <p>{organization.about}</p>
            <p className="meta">
              {organization.industry} · {organization.size}
              {organization.website && (
                <>
                  {" "}
                  · <a href={organization.website} rel="noopener noreferrer">{organization.website}</a>
                </>
              )}
            </p>
            <h2>
              Open jobs (<span data-testid="open-jobs-count">{organization.openJobsCount}</span>)
            </h2>
            {(organization.jobs?.edges.length ?? 0) === 0 ? (
              <Empty>No open jobs.</Empty>
            ) : (
              <ul data-testid="jobs">
                {organization.jobs!.edges.map(({ node }) => (
                  <li key={node.id} data-testid="job">
                    <Link href={`/jobs/${node.id}`}>{node.title}</Link> · {node.location}
                    {node.remote && " · remote"} · posted {date(node.postedAt)}
                  </li>
                ))}
              </ul>
            )}
            <h2>Recruiters</h2>
            {(organization.recruiters?.edges.length ?? 0) === 0 ? (
              <Empty>No recruiters listed.</Empty>
            ) : (
              <ul data-testid="recruiters">
                {organization.recruiters!.edges.map(({ node }) => (
                  <li key={node.id}>{node.displayName}</li>
                ))}
              </ul>
            )}
            <h2>Internships</h2>
            {organization.internships.edges.length === 0 ? (
              <Empty>No internships right now.</Empty>
            ) : (
              <ul data-testid="internships">
                {organization.internships.edges.map(({ node }) => (
                  <li key={node.id}>
                    {node.title} · {node.kind.toLowerCase()} · starts {date(node.startsOn)}
                  </li>
                ))}
              </ul>
            )}
          </article>
        );
      }}
    </PageBody>
  );
}
