import { Link, navigate, useLocation } from "./navigation";
import { useSession } from "./session";
import { Checkout } from "./pages/Checkout";
import { EmployerDashboard } from "./pages/EmployerDashboard";
import { InternshipBrowse } from "./pages/InternshipBrowse";
import { JobDetail } from "./pages/JobDetail";
import { JobSearch } from "./pages/JobSearch";
import { JobseekerDashboard } from "./pages/JobseekerDashboard";
import { Organization } from "./pages/Organization";
import { SignInPage } from "./pages/SignIn";
import { Empty } from "./components/states";

function Navigation() {
  const { session, signOut } = useSession();
  const roles = session.status === "signed-in" ? session.roles : [];
  return (
    <header className="top">
      <Link href="/" className="brand">
        Talentgraph
      </Link>
      <nav aria-label="Main">
        <Link href="/">Jobs</Link>
        <Link href="/internships">Internships</Link>
        {roles.includes("JOBSEEKER") && <Link href="/dashboard">My applications</Link>}
        {roles.includes("EMPLOYER") && <Link href="/employer">My organizations</Link>}
        {roles.includes("EMPLOYER") && <Link href="/checkout">Buy credits</Link>}
        {roles.includes("ADMIN") && <span className="badge" data-testid="admin-badge">admin</span>}
      </nav>
      <div className="account" data-testid="account">
        {session.status === "signed-in" ? (
          <button
            type="button"
            onClick={() => {
              // Both state changes land in one render, so the job search is
              // requested once, already signed out.
              navigate("/");
              void signOut();
            }}
            data-testid="sign-out"
          >
            Sign out
          </button>
        ) : session.status === "restoring" ? (
          <span aria-busy="true">Signing in…</span>
        ) : (
          <Link href="/sign-in" data-testid="sign-in">
            Sign in
          </Link>
        )}
      </div>
    </header>
  );
}

function Page({ location }: { location: URL }) {
  const path = location.pathname;
  const job = /^\/jobs\/([^/]+)$/.exec(path);
  if (job?.[1]) return <JobDetail key={job[1]} jobId={decodeURIComponent(job[1])} />;
  const organization = /^\/organizations\/([^/]+)$/.exec(path);
  if (organization?.[1]) return <Organization key={organization[1]} slug={decodeURIComponent(organization[1])} />;
  switch (path) {
    case "/":
      return <JobSearch location={location} />;
    case "/internships":
      return <InternshipBrowse location={location} />;
    case "/dashboard":
      return <JobseekerDashboard />;
    case "/employer":
      return <EmployerDashboard />;
    case "/checkout":
      return <Checkout location={location} />;
    case "/sign-in":
      return <SignInPage />;
    default:
      return <Empty>There is no page here. <Link href="/">See the jobs</Link>.</Empty>;
  }
}

export function App() {
  const location = useLocation();
  const { session } = useSession();
  return (
    <>
      <Navigation />
      <main>
        {session.status === "signed-out" && session.notice && (
          <div className="notice" role="status">
            {session.notice}
          </div>
        )}
        <Page location={location} />
      </main>
    </>
  );
}
