// fuzz/world.hpp — the state the graph-operation interpreter works on: the
// objects it makes, the slots that hold them, and the reference model it
// keeps beside them.
//
// The interpreter (program.cpp) decodes a byte string into operations
// (ops.cpp) over a World; after every operation the checker (checks.cpp)
// compares the library with the model. Three kinds of truth meet here:
//
//   what the harness did   slots, the resurrection store, the objects' own
//                          fields: real Refs, so the library counts them;
//   what the model says    `shadow`: for every live object, which object
//                          each field should point at. Only harness code
//                          writes it (ops and finalizers), so a Ref that the
//                          collector resets on an object that then survives
//                          shows up as a difference;
//   what happened          constructor and destructor calls, finalize()
//                          calls, exceptions thrown and reported, recorded by
//                          the nodes themselves, by id. `live` maps an
//                          address to an id only while the object exists,
//                          so the harness never reads freed memory even
//                          without a sanitizer.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include <ouro/ouro.hpp>

namespace ouro_fuzz {

inline constexpr int kSlots = 8;
inline constexpr int kMaxFields = 3;
inline constexpr std::size_t kMaxLive = 48;       // make is a no-op beyond this
inline constexpr std::size_t kMaxCreated = 400;   // per program, finalizers included
inline constexpr std::size_t kMaxCallbacks = 3;
inline constexpr int kWeakSlots = 6;
inline constexpr int kMapKeys = 4;
inline constexpr int kQueries = 9;  // see run_query

// What an object's finalize() does (types with a finalizer only), and what
// a gc callback does. Every one of them is user code running where the
// library must stay consistent: inside a collection or a refcount death.
enum class Behaviour : std::uint8_t {
  none,
  resurrect,   // stores ouro::ref(this) in the resurrection store
  throws,      // throws std::runtime_error (must reach the unraisable hook)
  allocate,    // makes a two-object garbage cycle, and a leaf in slot[param]
  drop_slot,   // empties slot[param]
  collect,     // gc::collect(param % 3): 0 inside a collection
  freeze,      // gc::freeze(), or gc::unfreeze() when param is odd
  steal,       // slot[param] = its first field (resurrects a neighbour)
  drop_field,  // empties its own first field
  query,       // one of the heap queries (run_query), on slot[param / kQueries]'s object
  replace_self,  // gc callbacks: remove themselves (and maybe add another), then read
                 // their captures; weak callbacks: overwrite their own WeakRef with a
                 // new one; elsewhere none
  count_
};
inline constexpr int kBehaviours = static_cast<int>(Behaviour::count_);
const char* behaviour_name(Behaviour b);

struct World;

// What user code (a finalizer, callback or traverse that allocates) throws
// when make<T> runs out of memory: the harness tells it from the library's
// own std::bad_alloc, which no user code saw.
struct UserBadAlloc : std::bad_alloc {
  const char* what() const noexcept override { return "std::bad_alloc in user code"; }
};

// Every object the interpreter makes. Fields are a fixed-size vector of
// nullable Refs (the collector may empty the vector when it breaks a cycle).
struct Base : ouro::Object {
  Base(World& w, int nfields, Behaviour b, std::uint8_t param);
  ~Base() override;
  World& world;
  std::uint32_t id;
  Behaviour behaviour;
  std::uint8_t param;
  std::vector<ouro::Ref<Base>> fields;
  // A weak reference member, reported by traverse (Node, FinNode): its
  // callback must not run when its owner is garbage in the same collection.
  ouro::WeakRef<Base> weak;
  std::int64_t weak_rec = -1;  // the model's record of `weak`, -1 = none
  // Weak maps owned by the object (Node reports them in traverse): their
  // strong halves (WeakKeyMap's values, WeakValueMap's keys) may point back
  // at the object, so an entry can be what keeps its own map alive.
  ouro::WeakKeyMap<Base, ouro::Ref<Base>> kmap;
  ouro::WeakValueMap<ouro::Ref<Base>, Base> vmap;
  // User code inside traverse() (tracked kinds): `traverse_shots` more calls
  // outside clearing (and outside the harness's own queries) run it.
  Behaviour traverse_behaviour = Behaviour::none;
  std::uint8_t traverse_param = 0;
  int traverse_shots = 0;
  // A query the destructor runs (Behaviour::query's parameter), -1 = none.
  int destructor_query = -1;

 protected:
  void run_finalizer();
  void run_traverse_behaviour(ouro::Visitor& v);
};

// The four combinations the library tells apart at compile time.
struct Leaf : Base {  // untracked, no finalizer
  using Base::Base;
};
struct FinLeaf : Base {  // untracked, finalizer
  using Base::Base;
  void finalize() override { run_finalizer(); }
};
struct Node : Base {  // tracked, no finalizer
  using Base::Base;
  void traverse(ouro::Visitor& v) override {
    if (traverse_shots > 0) run_traverse_behaviour(v);
    v(fields, weak, kmap, vmap);
  }
};
struct FinNode : Node {  // tracked, finalizer
  using Node::Node;
  void finalize() override { run_finalizer(); }
};

// A Node whose constructor throws after Base registered it (make<T> must
// unwind it and leak nothing).
struct ThrowingNode : Node {
  ThrowingNode(World& w, int nfields);
};

enum class Kind : std::uint8_t { node, fin_node, leaf, fin_leaf };

// The model of an entry of an object's own kmap or vmap. `weak` is the
// object the entry refers to weakly (kmap: the key, vmap: the value),
// `strong` the one it holds (kmap: the value, vmap: the key; -1 = an empty
// Ref). Once its weak reference is dead the entry lingers: the map may hold
// `strong` until it sweeps (a weak reference owned by garbage is cleared
// without calling back, so nothing erases its entry at once).
struct OwnedEntry {
  bool in_kmap = true;
  std::int64_t weak = -1;
  std::int64_t strong = -1;
  std::uint64_t created = 0;
  bool lingering = false;
};

struct Info {
  Kind kind = Kind::node;
  bool alive = false;
  bool immortal = false;
  int finalized = 0;                 // finalize() calls so far
  std::uint64_t born_op = 0;         // index of the operation that made it
  std::vector<std::int64_t> shadow;  // per field: the model's target id, -1 = empty
  // Weak references made before this operation index must be expired while
  // the object lives: a collection found it garbage, cleared them, and a
  // finalizer resurrected it.
  std::uint64_t cleared_before = 0;
  std::vector<OwnedEntry> owned;  // entries of its kmap and vmap
};

// The model of one weak reference (a WeakRef in a weak slot or in an
// object's `weak` member; moves carry the record along, copies make new ones).
struct WeakInfo {
  std::int64_t target = -1;     // id of the object it was made to
  std::uint64_t created = 0;    // operation index
  bool alive = true;            // the WeakRef still exists (not dropped, overwritten, destroyed)
  bool has_callback = false;
  bool ever_in_field = false;   // may have been owned by garbage: its callback may legally be skipped
  std::int64_t owner = -1;      // the object whose `weak` member holds it, -1 = a weak slot
  bool expired_seen = false;    // observed expired (sticky)
  int calls = 0;                // callback calls so far
};

struct WeakSlot {
  ouro::WeakRef<Base> ref;
  std::int64_t rec = -1;  // -1 = empty
};

// The model of a map entry (WeakValueMap<int, Base> by key, WeakKeyMap<Base, int> by object id).
struct MapEntry {
  std::int64_t target = -1;
  std::uint64_t created = 0;
  int value = 0;
};

// The key of the hash map (World::hash_map): its std::hash and operator==
// throw when the world says so (World::hash_fault), as user code may.
struct HashKey {
  int key = 0;
  World* world = nullptr;
  bool operator==(const HashKey& other) const;
};

inline bool is_tracked_kind(Kind k) { return k == Kind::node || k == Kind::fin_node; }
inline bool has_finalizer_kind(Kind k) { return k == Kind::fin_node || k == Kind::fin_leaf; }

struct World {
  std::array<ouro::Ref<Base>, kSlots> slots;
  std::vector<ouro::Ref<Base>> store;  // where resurrecting finalizers put themselves

  std::vector<Info> objects;                       // by id
  std::unordered_map<const Base*, std::uint32_t> live;  // address -> id while it exists
  std::size_t created = 0;

  std::vector<std::size_t> callback_ids;
  std::uint64_t thrown = 0;    // exceptions thrown by finalizers and callbacks
  std::uint64_t reported = 0;  // exceptions that reached the unraisable hook
  std::uint64_t caught = 0;    // UserBadAlloc that came back out of the library (op_oom)
  // User code changed the graph (made, dropped or added a reference) in
  // the current operation.
  bool user_changed_graph = false;

  std::uint64_t op_index = 0;
  bool freeze_during_op = false;     // gc::freeze() ran inside the current op
  bool saveall_since_clear = false;  // garbage() may hold objects without finalizers
  std::vector<std::uint32_t> finalized_during_op;
  bool finalizer_dropped = false;  // a finalizer dropped a Ref (slot or field) during the op

  // A full collection under the model's eye (collect_and_check): the
  // harness's own gc callback, always the first one, checks it at
  // Phase::stop, before any other callback can change the graph.
  bool collect_check_armed = false;
  bool collection_running = false;  // between a Phase::start and its Phase::stop
  bool collect_legacy = false;
  bool collect_save_all = false;  // DEBUG_SAVEALL: what the collection finds goes to garbage(), none of it is freed
  std::vector<char> unreachable_before;
  // Per id, under DEBUG_SAVEALL: an untracked object of unreachable_before
  // whose every reference is the strong half of an owned map's entry whose
  // weak referent is garbage too (held_only_by_dying_entries).
  std::vector<char> saveall_may_free;

  // Weak references: slots, records, the two weak maps and their models.
  std::array<WeakSlot, kWeakSlots> weak;
  std::vector<WeakInfo> weak_records;
  ouro::WeakValueMap<int, Base> value_map;
  ouro::WeakKeyMap<Base, int> key_map;
  std::unordered_map<int, MapEntry> value_model;
  std::unordered_map<std::uint32_t, MapEntry> key_model;
  int in_weak_callback = 0;

  // A WeakValueMap whose key's hash and equality are user code that throws
  // on demand: hash_fault counts down the calls (-1 = never throws) until
  // the one that throws; hash_fault_in_equality picks operator== instead.
  ouro::WeakValueMap<HashKey, Base> hash_map;
  std::unordered_map<int, MapEntry> hash_model;
  int hash_fault = -1;
  bool hash_fault_in_equality = false;
  void hash_called(bool equality);

  // Harness code that asks the library (checks, failure reports) sets
  // `quiet`: traverse() then only reports.
  int quiet = 0;
  // A traverse() ran user code in the current operation: an object of a
  // collection's working set whose last Ref it dropped may be left alive
  // with a zero count until the next collection (settle_zombies).
  bool traverse_acted = false;
  // Runs query `which` (see Behaviour::query) on `subject` (or on none) and
  // checks that every object it returns is alive.
  void run_query(int which, const ouro::Ref<Base>& subject);
  void run_query_into(int which, const Base* subject, std::vector<ouro::Ref<ouro::Object>>& found, std::ostream& null);

  // The unraisable hook in place: 0 counts; 1 also removes itself and then
  // reads its captures (and installs a counting hook); 2 replaces itself
  // with a counting hook, then reads its captures.
  void install_hook(int mode);

  std::int64_t throwing_id = -1;  // the last ThrowingNode made
  std::string failure;  // the first disagreement, "" while all agree

  void fail(const std::string& what) {
    if (failure.empty()) failure = what;
  }
  bool can_make() const { return live.size() < kMaxLive && created < kMaxCreated; }
  // The id of a live object, or -1 when `p` is not one (never dereferences).
  std::int64_t id_of(const Base* p) const {
    auto it = live.find(p);
    return it == live.end() ? -1 : static_cast<std::int64_t>(it->second);
  }
  std::int64_t slot_id(int s) const;

  // Harness-side writes that keep the model in step.
  void set_field(Base& holder, int i, const ouro::Ref<Base>& target);
  // Runs behaviour `b` (user code of a finalizer or a callback). A
  // std::bad_alloc (injected) out of what it calls counts as thrown by user
  // code and leaves as UserBadAlloc; so does a std::logic_error of a call
  // the library refuses at that moment (gc::freeze while it counts).
  void run(Behaviour b, std::uint8_t param, Base* self);
  void run_behaviour(Behaviour b, std::uint8_t param, Base* self);
  // What a weak reference callback does: `b` as for a gc callback, except
  // resurrect (slot[param] = lock() of weak slot param), steal (drops weak
  // slot param, possibly the WeakRef calling back) and drop_field (erases
  // key param of the WeakValueMap).
  void run_weak_callback(Behaviour b, std::uint8_t param, std::int64_t rec, ouro::WeakRef<Base>& self);
  // A new record for a WeakRef just made to `target` (-1: an empty one).
  std::int64_t new_weak_record(std::int64_t target, bool has_callback);
  void kill_weak_record(std::int64_t rec) {
    if (rec >= 0) weak_records[static_cast<std::size_t>(rec)].alive = false;
  }
  // Record `rec` now lives in the `weak` member of object `owner` (-1: in a weak slot).
  void to_field(std::int64_t rec, std::int64_t owner) {
    if (rec < 0) return;
    WeakInfo& info = weak_records[static_cast<std::size_t>(rec)];
    info.owner = owner;
    if (owner >= 0) info.ever_in_field = true;
  }
  std::function<void(ouro::WeakRef<Base>&)> weak_callback(Behaviour b, std::uint8_t param, std::int64_t rec);
};

// Makes an object of `kind` and registers it; the Ref is empty when the
// world is full.
ouro::Ref<Base> make_object(World& w, Kind kind, int nfields, Behaviour b, std::uint8_t param);

// Adds a gc callback that runs `b` at start (even param) or stop (odd).
void add_gc_callback(World& w, Behaviour b, std::uint8_t param);

}  // namespace ouro_fuzz

template <>
struct std::hash<ouro_fuzz::HashKey> {
  std::size_t operator()(const ouro_fuzz::HashKey& k) const;
};
