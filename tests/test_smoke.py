def test_cast_builds(cast):
    assert cast.room.team == cast.team
