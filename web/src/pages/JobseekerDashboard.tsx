import { JobseekerDashboardPage } from "../graphql/operations";
import { Link } from "../navigation";
import { usePageQuery } from "../usePageQuery";
import { Empty, PageBody, PartialDataNotice, date, inWords } from "../components/states";

export function JobseekerDashboard() {
  const state = usePageQuery(JobseekerDashboardPage, { first: 10 });
  return (
    <PageBody state={state}>
      {(data, errors) => {
        const me = data.me;
        if (!me) return <Empty>Sign in to see your dashboard.</Empty>;
        return (
          <section>
            <PartialDataNotice errors={errors} />
            <h1 data-testid="display-name">{me.displayName}</h1>
            <p className="meta">
              {me.headline} · @{me.handle}
            </p>
            {me.jobseekerProfile && (
              <p data-testid="open-to-work">
                {me.jobseekerProfile.openToWork ? "Open to work" : "Not looking"}
                {me.jobseekerProfile.desiredTitles.length > 0 && ` · wants ${me.jobseekerProfile.desiredTitles.join(", ")}`}
              </p>
            )}
            <h2>Applications</h2>
            {!me.applications || me.applications.edges.length === 0 ? (
              <Empty>You have not applied for a job yet.</Empty>
            ) : (
              <table data-testid="applications">
                <thead>
                  <tr>
                    <th scope="col">Job</th>
                    <th scope="col">Organization</th>
                    <th scope="col">Status</th>
                    <th scope="col">Applied</th>
                  </tr>
                </thead>
                <tbody>
                  {me.applications.edges.map(({ node }) => (
                    <tr key={node.id} data-testid="application">
                      <td>
                        <Link href={`/jobs/${node.job.id}`}>{node.job.title}</Link>
                      </td>
                      <td>{node.job.organization.name}</td>
                      <td>{inWords(node.status)}</td>
                      <td>{date(node.appliedAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <h2>Saved jobs</h2>
            {!me.savedJobs || me.savedJobs.edges.length === 0 ? (
              <Empty>No saved jobs.</Empty>
            ) : (
              <ul data-testid="saved-jobs">
                {me.savedJobs.edges.map(({ node }) => (
                  <li key={node.id}>
                    <Link href={`/jobs/${node.id}`}>{node.title}</Link> · {node.organization.name} · {node.location}
                  </li>
                ))}
              </ul>
            )}
            <h2>Internship applications</h2>
            {!me.internshipApplications || me.internshipApplications.edges.length === 0 ? (
              <Empty>No internship applications.</Empty>
            ) : (
              <ul data-testid="internship-applications">
                {me.internshipApplications.edges.map(({ node }) => (
                  <li key={node.id}>
                    {node.internship
                      ? `${node.internship.title} · ${node.internship.organization.name}`
                      : "An internship that is no longer listed"}{" "}
                    · {node.status.toLowerCase()}
                  </li>
                ))}
              </ul>
            )}
          </section>
        );
      }}
    </PageBody>
  );
}
