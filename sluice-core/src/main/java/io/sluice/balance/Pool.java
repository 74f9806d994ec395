package io.sluice.balance;

import io.sluice.endpoint.AdminState;
import io.sluice.endpoint.Address;
import io.sluice.endpoint.Endpoint;
import io.sluice.endpoint.EndpointSet;
import io.sluice.endpoint.Member;
import io.sluice.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * A pool's members, their current snapshot and the selector built from it: the object every request asks for an
 * endpoint.
 *
 * <p>Reads ({@link #select}) take one volatile read and no lock. Changes (membership, weights, drain, health
 * verdicts) take the pool's lock, build a new {@link EndpointSet} and a new {@link Selector}, and publish both with
 * one volatile write, so a request sees either the old pair or the new one, never a mix. Only this pool's selector
 * is rebuilt.
 */
public final class Pool {

    private record State(EndpointSet snapshot, Selector selector) {
    }

    private final String name;
    private final LoadBalancer balancer;
    private final EndpointSet.Options options;
    private final Clock clock;
    private final boolean checksRequired;
    private final Object lock = new Object();
    private final List<Consumer<Pool>> listeners = new CopyOnWriteArrayList<>();
    private int nextId;
    private List<Member> members;
    private volatile State state;

    private Pool(String name, LoadBalancer balancer, EndpointSet.Options options, Clock clock,
                 boolean checksRequired, List<Member> members, int nextId) {
        this.name = name;
        this.balancer = balancer;
        this.options = options;
        this.clock = clock;
        this.checksRequired = checksRequired;
        this.members = List.copyOf(members);
        this.nextId = nextId;
        rebuild();
    }

    /**
     * Creates a pool.
     *
     * @param name           the pool's name
     * @param balancer       the policy
     * @param options        panic threshold and slow start
     * @param clock          the time source
     * @param checksRequired true if an active health check must pass before an endpoint takes traffic
     * @param endpoints      the initial endpoints (they take traffic at full weight from the start, subject to
     *                       checks)
     * @param previous       the pool this one replaces on a reload, whose members (load, health) are kept for
     *                       endpoints present in both; or empty
     */
    public static Pool of(String name, LoadBalancer balancer, EndpointSet.Options options, Clock clock,
                          boolean checksRequired, List<Endpoint> endpoints, Optional<Pool> previous) {
        List<Member> members = new ArrayList<>();
        int nextId = previous.map(p -> p.nextIdSnapshot()).orElse(0);
        for (Endpoint e : endpoints) {
            Optional<Member> kept = previous.flatMap(p -> p.member(e.address()));
            if (kept.isPresent()) {
                Member m = kept.get();
                m.setEndpoint(e);
                members.add(m);
            } else {
                members.add(new Member(nextId++, e, !checksRequired, Long.MIN_VALUE / 2));
            }
        }
        return new Pool(name, balancer, options, clock, checksRequired, members, nextId);
    }

    private int nextIdSnapshot() {
        synchronized (lock) {
            return nextId;
        }
    }

    /** The pool's name. */
    public String name() {
        return name;
    }

    /** The policy. */
    public LoadBalancer balancer() {
        return balancer;
    }

    /** Picks an endpoint for a request. */
    public Member select(PickContext ctx) {
        return state.selector().select(ctx);
    }

    /** The current snapshot. */
    public EndpointSet snapshot() {
        return state.snapshot();
    }

    /** Every member, in id order. */
    public List<Member> members() {
        return state.snapshot().members();
    }

    /** The member at an address. */
    public Optional<Member> member(Address address) {
        for (Member m : state.snapshot().members()) {
            if (m.address().equals(address)) {
                return Optional.of(m);
            }
        }
        return Optional.empty();
    }

    /** Calls the listener after every rebuild (a new member, a drained one, a health change). */
    public void onChange(Consumer<Pool> listener) {
        listeners.add(listener);
    }

    /**
     * Adds an endpoint. With active checks it takes traffic only once its check passes; with slow start it then
     * ramps up.
     *
     * @throws IllegalArgumentException if the address is already in the pool
     */
    public Member add(Endpoint endpoint) {
        Member added;
        synchronized (lock) {
            for (Member m : members) {
                if (m.address().equals(endpoint.address())) {
                    throw new IllegalArgumentException("endpoint " + endpoint.address() + " is already in pool "
                            + name);
                }
            }
            added = new Member(nextId++, endpoint, !checksRequired, clock.nanoTime());
            List<Member> next = new ArrayList<>(members);
            next.add(added);
            members = List.copyOf(next);
            rebuildLocked();
        }
        notifyListeners();
        return added;
    }

    /** Removes an endpoint; requests already sent to it finish. Returns the removed member. */
    public Optional<Member> remove(Address address) {
        Member removed = null;
        synchronized (lock) {
            List<Member> next = new ArrayList<>(members.size());
            for (Member m : members) {
                if (m.address().equals(address)) {
                    removed = m;
                } else {
                    next.add(m);
                }
            }
            if (removed == null) {
                return Optional.empty();
            }
            members = List.copyOf(next);
            rebuildLocked();
        }
        notifyListeners();
        return Optional.of(removed);
    }

    /** Sets the admin state of an endpoint. */
    public Optional<Member> setAdminState(Address address, AdminState adminState) {
        Optional<Member> m = member(address);
        m.ifPresent(member -> {
            member.setAdminState(adminState, clock.nanoTime());
            rebuild();
        });
        return m;
    }

    /** Changes an endpoint's weight; takes effect for the next request. */
    public Optional<Member> setWeight(Address address, int weight) {
        Optional<Member> m = member(address);
        m.ifPresent(member -> {
            member.setWeight(weight);
            rebuild();
        });
        return m;
    }

    /**
     * Rebuilds the snapshot and selector from the members' current state. Health checkers, outlier detection and
     * the slow-start ticker call this after changing a member.
     */
    public void rebuild() {
        synchronized (lock) {
            rebuildLocked();
        }
        notifyListeners();
    }

    private void rebuildLocked() {
        EndpointSet snapshot = EndpointSet.of(members, clock.nanoTime(), options);
        state = new State(snapshot, balancer.newSelector(snapshot));
    }

    private void notifyListeners() {
        for (Consumer<Pool> l : listeners) {
            l.accept(this);
        }
    }

    @Override
    public String toString() {
        return "Pool[" + name + ", " + balancer.name() + ", " + Objects.requireNonNull(state).snapshot().size()
                + "/" + members.size() + " candidates]";
    }
}
