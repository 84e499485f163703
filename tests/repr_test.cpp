// repr() and type_name() (ouro/object.hpp): the type's name without
// namespaces, template arguments kept, and its address as %p.
#include <gtest/gtest.h>

#include <string>

#include <ouro/ouro.hpp>

#include "support/text.hpp"

namespace {

using ouro::make;
using ouro::Ref;
using ouro_test::is_default_repr;
constexpr auto& percent_p = ouro_test::address;

}  // namespace

// ---------------------------------------------------------------------------
// repr() and type_name()
// ---------------------------------------------------------------------------

namespace outer_ns::inner_ns {
struct Namespaced : ouro::Object {};
struct Tag {};
template <class T>
struct Box : ouro::Object {};
}  // namespace outer_ns::inner_ns

namespace {
struct Anonymous : ouro::Object {};
struct Derives : Anonymous {};
}  // namespace

TEST(Repr, DefaultReprIsTypeNameAndAddress) {
  auto a = make<Anonymous>();
  std::string r = a->repr();
  EXPECT_TRUE(is_default_repr(r, "Anonymous")) << r;
  EXPECT_EQ(r, "<Anonymous " + percent_p(static_cast<ouro::Object*>(a.get())) + ">");
}

TEST(Repr, ReprAndTypeNameUseTheDynamicType) {
  Ref<ouro::Object> d = make<Derives>();
  EXPECT_EQ(ouro::type_name(*d), "Derives");
  EXPECT_TRUE(is_default_repr(d->repr(), "Derives")) << d->repr();
}

TEST(Repr, TypeNameDropsNamespacesButKeepsTemplateArguments) {
  EXPECT_EQ(ouro::type_name(*make<outer_ns::inner_ns::Namespaced>()), "Namespaced");
  EXPECT_EQ(ouro::type_name(*make<outer_ns::inner_ns::Box<outer_ns::inner_ns::Tag>>()),
            "Box<outer_ns::inner_ns::Tag>");
  EXPECT_EQ(ouro::type_name(*make<Anonymous>()), "Anonymous");  // "(anonymous namespace)::" dropped
}

TEST(Repr, TypeNameOfAClassLocalToAFunction) {
  struct LocalGraph : ouro::Object {};
  EXPECT_EQ(ouro::type_name(*make<LocalGraph>()), "LocalGraph");
  EXPECT_TRUE(is_default_repr(make<LocalGraph>()->repr(), "LocalGraph"));
}
