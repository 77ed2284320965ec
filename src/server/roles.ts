// The roles a restore on a fresh server needs: every role that owns an object of the source
// database or holds a privilege on one (pg_shdepend records both, and policies' roles), and the
// bootstrap superuser, who owns what pg_shdepend leaves out; made there without login and without a
// password, so that ownership and privileges restore and compare as on the source. The restore
// itself runs as the user the source is read as, with that user's powers there and its memberships:
// a backup can do on the throwaway server what it could do on the source's, and no more.

import type pg from 'pg'

export interface SourceRoles {
  /** The roles the source database's objects name (predefined ones, pg_*, left out: every server has them). */
  named: string[]
  /** The user the source is read as, who restores. */
  restorer: { name: string; superuser: boolean; memberOf: string[] }
  /**
   * A role of the run's to own the temporary database, that every named role and the restorer are
   * members of: through it each has the database owner's rights (CREATE on schema public, which an
   * ALTER ... OWNER TO needs of the new owner), as a superuser's roles would on the backup's server.
   */
  databaseOwner?: string
}

export async function readSourceRoles(source: pg.Client): Promise<SourceRoles> {
  const { rows } = await source.query<{ name: string }>(
    `SELECT DISTINCT r.rolname AS name
       FROM pg_catalog.pg_roles r
      WHERE (r.oid = 10
             OR r.oid IN (SELECT d.refobjid FROM pg_catalog.pg_shdepend d
                           WHERE d.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass
                             AND d.dbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())))
        AND r.rolname !~ '^pg_'
      ORDER BY 1`
  )
  const me = await source.query<{ name: string; superuser: boolean; member_of: string[] }>(
    `SELECT r.rolname AS name, r.rolsuper AS superuser,
            coalesce(array_agg(g.rolname::text ORDER BY g.rolname) FILTER (WHERE g.rolname IS NOT NULL AND g.rolname !~ '^pg_'), '{}'::text[]) AS member_of
       FROM pg_catalog.pg_roles r
       LEFT JOIN pg_catalog.pg_auth_members m ON m.member = r.oid
       LEFT JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
      WHERE r.rolname = current_user
      GROUP BY r.rolname, r.rolsuper`
  )
  const restorer = me.rows[0]
  return {
    named: rows.map((row) => row.name),
    restorer: { name: restorer.name, superuser: restorer.superuser, memberOf: restorer.member_of }
  }
}

/**
 * On the fresh server, as its bootstrap superuser: each named role it lacks (NOLOGIN), and the
 * restorer with its powers (superuser or not; CREATEDB, for the temporary database) and memberships.
 * Returns the roles made, the restorer last.
 */
export async function makeRoles(admin: pg.Client, roles: SourceRoles): Promise<string[]> {
  const { rows } = await admin.query<{ name: string }>('SELECT rolname AS name FROM pg_catalog.pg_roles')
  const present = new Set(rows.map((row) => row.name))
  const made: string[] = []
  const id = (name: string) => admin.escapeIdentifier(name)
  const { restorer } = roles
  for (const role of new Set([...roles.named, ...restorer.memberOf])) {
    if (present.has(role) || role === restorer.name) continue
    await admin.query(`CREATE ROLE ${id(role)} NOLOGIN`)
    made.push(role)
  }
  if (!present.has(restorer.name)) {
    await admin.query(`CREATE ROLE ${id(restorer.name)} LOGIN CREATEDB ${restorer.superuser ? 'SUPERUSER' : 'NOSUPERUSER'}`)
    made.push(restorer.name)
  }
  for (const group of restorer.memberOf) await admin.query(`GRANT ${id(group)} TO ${id(restorer.name)}`)
  if (roles.databaseOwner !== undefined) {
    if (!present.has(roles.databaseOwner)) await admin.query(`CREATE ROLE ${id(roles.databaseOwner)} NOLOGIN`)
    for (const member of new Set([...roles.named, restorer.name])) {
      if (member !== roles.databaseOwner) await admin.query(`GRANT ${id(roles.databaseOwner)} TO ${id(member)}`)
    }
  }
  return made
}
