//! Deciding the default region's numbers in the contract's forms must not load `phonenumber`'s
//! database of every region, which stays resident once loaded (2.5 MiB in the benchmark:
//! bench/RESULTS.md, twelfth round). A test binary of its own, so no other test loads it first.

use once_cell::sync::Lazy;
use phonenumber::{country, metadata::DATABASE};
use tantana::domain::PhoneNumber;

#[test]
fn uzbek_numbers_with_their_country_code_leave_the_crates_database_unloaded() {
    for input in ["+998901234567", "998901234567", "+998 90 123 45 67", "+998001234567", "+99890"] {
        let _ = PhoneNumber::parse(input, country::Id::UZ);
    }
    // Telling a mobile from a landline, as send-otp does for every code, stays on the copy too.
    let mobile = PhoneNumber::parse("+998901234567", country::Id::UZ).expect("a valid mobile number");
    let landline = PhoneNumber::parse("+998 71 234 56 78", country::Id::UZ).expect("a valid Tashkent landline");
    assert!(mobile.as_mobile_of(&[country::Id::UZ]).is_some());
    assert!(landline.as_mobile_of(&[country::Id::UZ]).is_none());
    assert!(Lazy::get(&DATABASE).is_none(), "the fast path loaded phonenumber's database");

    // A national form goes through the crate, which loads it: the check above can tell.
    let phone = PhoneNumber::parse("90 123 45 67", country::Id::UZ).expect("a valid national number");
    assert_eq!(phone.as_str(), "+998901234567");
    assert!(Lazy::get(&DATABASE).is_some());
}
